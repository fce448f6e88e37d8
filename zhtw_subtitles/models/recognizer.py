"""The CTC text-line recogniser in Hugging Face form: `save_pretrained` writes config.json (with the character
dictionary) and model.safetensors, and `SubtitleRecognizer.from_pretrained(folder)` loads them back.
`export_onnx` adds model.onnx, which `OnnxRecognizer` runs with onnxruntime, about twice as fast on a CPU.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import ModelOutput

from zhtw_subtitles.models.ctc import BLANK_INDEX, CtcCharset
from zhtw_subtitles.models.ppocr_rec import (
    INPUT_HEIGHT,
    MIN_INPUT_WIDTH,
    PPOCRv6SmallRec,
    charset_from_onnx,
    load_from_onnx,
    rapidocr_onnx_path,
)

LABEL_PAD = -100  # the Trainer's padding value for labels
ONNX_FILE = "model.onnx"


class SubtitleRecognizerConfig(PretrainedConfig):
    model_type = "zhtw_subtitle_ctc"

    def __init__(self, characters: Sequence[str] = (), input_height: int = INPUT_HEIGHT,
                 min_input_width: int = MIN_INPUT_WIDTH, freeze_batchnorm_stats: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.characters = list(characters)
        self.input_height = input_height
        self.min_input_width = min_input_width
        self.freeze_batchnorm_stats = freeze_batchnorm_stats


class SubtitleRecognizer(PreTrainedModel):
    """PP-OCRv6 small recogniser + CTC loss. Input: `pixel_values` N x 3 x 48 x W (see ppocr_rec.preprocess)."""

    config_class = SubtitleRecognizerConfig
    main_input_name = "pixel_values"

    def __init__(self, config: SubtitleRecognizerConfig):
        super().__init__(config)
        self.charset = CtcCharset(config.characters)
        self.net = PPOCRv6SmallRec(self.charset.num_classes, config.freeze_batchnorm_stats)
        self.post_init()

    def _init_weights(self, module) -> None:
        """Weights come from the pretrained export or a checkpoint, never from a random initialiser."""

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> ModelOutput:
        logits = self.net(pixel_values)
        loss = None if labels is None else ctc_loss(logits, labels)
        return ModelOutput(loss=loss, logits=logits)

    def read(self, pixel_values: torch.Tensor) -> list[str]:
        with torch.inference_mode():
            return self.charset.decode_greedy(self.net(pixel_values))

    def export_onnx(self, folder: Path) -> Path:
        """Write `folder`/model.onnx: pixel_values N x 3 x 48 x W -> logits N x T x C, batch and width dynamic."""
        path = Path(folder) / ONNX_FILE
        example = torch.zeros(2, 3, self.config.input_height, self.config.min_input_width)
        torch.onnx.export(self.net.eval(), (example,), str(path), dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "time"}})
        return path

    def add_characters(self, new: Sequence[str]) -> None:
        """Grow the dictionary and the CTC head by `new` characters (fine-tuning data the base never saw)."""
        new = [c for c in dict.fromkeys(new) if c not in set(self.config.characters)]
        if not new:
            return
        head = self.net.head
        grown = torch.nn.Linear(head.in_features, head.out_features + len(new))
        with torch.no_grad():
            grown.weight[: head.out_features] = head.weight
            grown.bias[: head.out_features] = head.bias
            # The mean row with the lowest bias: its logit, mean(w.x) + min(b), never exceeds the mean logit of
            # the old classes, so no argmax (and no reading of the base) changes until training moves it.
            grown.weight[head.out_features:] = head.weight.mean(0)
            grown.bias[head.out_features:] = head.bias.min()
        self.net.head = grown
        self.config.characters = [*self.config.characters, *new]
        self.charset = CtcCharset(self.config.characters)


def ctc_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of N x T x C logits against labels padded with LABEL_PAD."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # T x N x C
    mask = labels != LABEL_PAD
    input_lengths = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
    return F.ctc_loss(log_probs, labels[mask], input_lengths, mask.sum(1), blank=BLANK_INDEX,
                      reduction="mean", zero_infinity=True)


def pretrained_ppocr_v6_small() -> SubtitleRecognizer:
    """PP-OCRv6 small (PaddleOCR, Apache-2.0) from the ONNX export inside the rapidocr wheel: no download."""
    net, charset = load_from_onnx(rapidocr_onnx_path())
    model = SubtitleRecognizer(SubtitleRecognizerConfig(characters=charset.characters))
    model.net.load_state_dict(net.state_dict())
    return model.eval()


class OnnxRecognizer:
    """A recogniser run by onnxruntime: the same `read` as SubtitleRecognizer, for inference only."""

    def __init__(self, onnx_path: Path, charset: CtcCharset, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        self.charset = charset
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    @classmethod
    def from_folder(cls, folder: Path) -> OnnxRecognizer:
        """A folder written by `save_pretrained` + `export_onnx`."""
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        return cls(Path(folder) / ONNX_FILE, CtcCharset(config["characters"]))

    @classmethod
    def pretrained_ppocr_v6_small(cls) -> OnnxRecognizer:
        """rapidocr's own ONNX file, exactly as shipped: the base before any fine-tuning."""
        return cls(rapidocr_onnx_path(), charset_from_onnx(rapidocr_onnx_path()))

    def read(self, pixel_values: torch.Tensor) -> list[str]:
        (scores,) = self.session.run(None, {self.input_name: pixel_values.numpy()})
        return [self.charset.decode_path(path) for path in np.argmax(scores, axis=-1).tolist()]
