"""PP-OCRv6_small_det (PaddleOCR's DB text detector, Apache-2.0) as transformers' own
`PPOCRV6SmallDetForObjectDetection`, filled with the weights of rapidocr's `PP-OCRv6_det_small.onnx`.

Input: N x 3 x H x W, H and W multiples of 32, prepared as rapidocr's TextDetector does; output: the N x 1 x H x W
text probability map. No stage uses it yet: it is the starting point for a learned subtitle-line finder.
"""
from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

import torch
from transformers import (
    PPLCNetV4Config,
    PPOCRV6SmallDetConfig,
    PPOCRV6SmallDetForObjectDetection,
)

from zhtw_subtitles.models.onnx_weights import ModelLayer, load_onnx_weights

# (kernel, in_channels, out_channels, stride, squeeze_excitation) per block, per stage, as read off the export.
BACKBONE_BLOCKS = [
    [[3, 48, 48, 1, True], [3, 48, 48, 1, False]],
    [[3, 48, 96, 2, False], [3, 96, 96, 1, True], [3, 96, 96, 1, False]],
    [[3, 96, 192, 2, False], *[[3, 192, 192, 1, se] for se in (True, False, True, False)]],
    [[3, 192, 384, 2, False], [3, 384, 384, 1, True], [3, 384, 384, 1, False]],
]
NECK_LEVEL = re.compile(r"model\.neck\.(insert_conv|input_conv)\.(\d+)\.")
EXAMPLE_SIZE = (64, 96)  # not square, so that a layer paired with the wrong pyramid level fails on its output size


def rapidocr_det_onnx_path() -> Path:
    """The PP-OCRv6 small detector shipped inside the rapidocr wheel."""
    return Path(find_spec("rapidocr").origin).parent / "models" / "PP-OCRv6_det_small.onnx"


def detector_config() -> PPOCRV6SmallDetConfig:
    """The wheel's detector in native terms: a PP-LCNetV4 backbone with a 24/48-channel stem and stride-2 stages,
    whose four stage outputs (48, 96, 192, 384 channels) feed the RSE-FPN neck."""
    backbone = PPLCNetV4Config(stem_channels=[3, 24, 48], block_configs=BACKBONE_BLOCKS,
                               out_features=["stage1", "stage2", "stage3", "stage4"])
    return PPOCRV6SmallDetConfig(backbone_config=backbone, layer_list_out_channels=[48, 96, 192, 384])


def paddle_neck_order(layers: list[ModelLayer]) -> list[ModelLayer]:
    """Paddle's RSE-FPN runs each group of per-level layers (insert_conv, then input_conv) from the coarsest level
    to the finest; the native neck runs them from the finest. Everything else keeps its order."""
    group_start: dict[str, int] = {}
    keys = []
    for position, layer in enumerate(layers):
        match = NECK_LEVEL.match(layer.name)
        if match is None:
            keys.append((position, 0, 0))
        else:
            start = group_start.setdefault(match[1], position)
            keys.append((start, -int(match[2]), position))
    return [layer for _, layer in sorted(zip(keys, layers), key=lambda pair: pair[0])]


def pretrained_ppocr_v6_small_det(onnx_path: str | Path | None = None) -> PPOCRV6SmallDetForObjectDetection:
    """PP-OCRv6 small detector (in eval mode) with every weight of the wheel's ONNX export: no download."""
    model = PPOCRV6SmallDetForObjectDetection(detector_config())
    load_onnx_weights(model, onnx_path or rapidocr_det_onnx_path(), torch.zeros(1, 3, *EXAMPLE_SIZE),
                      graph_order=paddle_neck_order)
    return model.eval()
