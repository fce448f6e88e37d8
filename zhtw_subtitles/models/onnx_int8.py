"""Static int8 quantisation of an ONNX model with onnxruntime's own tool: weights per output channel, activations
with ranges measured on real inputs (QDQ format, which onnxruntime fuses into integer kernels on the CPU); the
layers named can stay in float32."""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quant_pre_process, quantize_static

from zhtw_subtitles.core.config import require


class _Inputs(CalibrationDataReader):
    def __init__(self, name: str, inputs: Iterable[np.ndarray]):
        self.feeds = iter({name: array} for array in inputs)

    def get_next(self) -> dict | None:
        return next(self.feeds, None)


def quantize_int8(model: Path, output: Path, input_name: str, inputs: list[np.ndarray],
                  keep_float: tuple[str, ...] = ()) -> None:
    """`model` quantised to int8 into `output`, its activations' ranges taken from running it on `inputs` (each a
    batch for `input_name`; shapes may differ); the nodes whose names start with one of `keep_float` stay float32."""
    require(len(inputs) > 0, f"quantising {model} needs calibration inputs; none were given")
    names = [node.name for node in onnx.load(str(model)).graph.node]
    unmatched = [prefix for prefix in keep_float if not any(name.startswith(prefix) for name in names)]
    require(not unmatched, f"{model} has no nodes named {unmatched}...: the export's layer names changed; "
                           f"update the layers kept in float32 to the model's node names")
    excluded = [name for name in names if name.startswith(tuple(keep_float))]
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        # The symbolic shape pass cannot follow the detector's dynamic-width resizes; onnx's own shape inference can.
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(output), _Inputs(input_name, inputs), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=excluded)
