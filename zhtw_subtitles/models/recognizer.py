"""The CTC text-line recogniser: transformers' PPOCRV6SmallRecForTextRecognition with a CTC dictionary and loss.

`save_pretrained` writes config.json and model.safetensors as the native class reads them, plus the dictionary where
transformers' own PP-OCR image processor keeps it (`character_list` in preprocessor_config.json, "blank" first), so
plain transformers loads a saved folder too. `SubtitleRecognizer.from_pretrained(folder)` loads it back with the
dictionary. `export_onnx` adds model.onnx, which `OnnxRecognizer` runs with onnxruntime, about twice as fast on a CPU.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PPOCRV6SmallRecConfig, PPOCRV6SmallRecForTextRecognition
from transformers.modeling_outputs import ModelOutput

from zhtw_subtitles.models.ctc import BLANK_INDEX, CtcCharset
from zhtw_subtitles.models.ppocr_rec import (
    INPUT_HEIGHT,
    MIN_INPUT_WIDTH,
    CtcNetwork,
    charset_from_onnx,
    freeze_batchnorm_statistics,
    load_rapidocr_weights,
    match_paddle_final_norm,
    rapidocr_onnx_path,
    recognizer_config,
)

LABEL_PAD = -100  # the Trainer's padding value for labels
ONNX_FILE = "model.onnx"
PROCESSOR_FILE = "preprocessor_config.json"
# What PaddleOCR's CTCLabelDecode (and transformers' post_process_text_recognition) put at class 0.
BLANK_ENTRY = "blank"
# The head's bias for a character the recogniser must never read: its probability is exactly 0 in float32.
SUPPRESSED_BIAS = -1e4


class SubtitleRecognizer(PPOCRV6SmallRecForTextRecognition):
    """PP-OCRv6 small + its CTC dictionary + CTC loss. Input: `pixel_values` N x 3 x 48 x W (ppocr_rec.preprocess).

    `forward` returns the logits (the native forward returns their softmax) and, given labels, the CTC loss.
    BatchNorm statistics never update in training (ppocr_rec.freeze_batchnorm_statistics).
    """

    def __init__(self, config: PPOCRV6SmallRecConfig, characters: Sequence[str]):
        super().__init__(config)
        self.charset = CtcCharset(characters)
        if self.charset.num_classes != config.head_out_channels:
            raise ValueError(f"{len(self.charset.characters)} characters + blank do not fit a head of "
                             f"{config.head_out_channels} classes")
        match_paddle_final_norm(self.head.encoder)

    @property
    def net(self) -> CtcNetwork:
        """The network up to the logits, made of this model's own modules (it holds no weights of its own)."""
        return CtcNetwork(self.model, self.head.encoder, self.head.head)

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> ModelOutput:
        logits = self.net(pixel_values)
        loss = None if labels is None else ctc_loss(logits, labels)
        return ModelOutput(loss=loss, logits=logits)

    def train(self, mode: bool = True) -> SubtitleRecognizer:
        super().train(mode)
        freeze_batchnorm_statistics(self)
        return self

    def read(self, pixel_values: torch.Tensor) -> list[str]:
        with torch.inference_mode():
            return self.charset.decode_greedy(self.net(pixel_values))

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        super().save_pretrained(save_directory, *args, **kwargs)
        processor = {"image_processor_type": "PPOCRV6SmallRecImageProcessor",
                     "character_list": [BLANK_ENTRY, *self.charset.characters]}
        (Path(save_directory) / PROCESSOR_FILE).write_text(json.dumps(processor, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def from_pretrained(cls, folder, *args, **kwargs) -> SubtitleRecognizer:
        return super().from_pretrained(folder, *args, characters=saved_characters(folder), **kwargs)

    def export_onnx(self, folder: Path) -> Path:
        """Write `folder`/model.onnx: pixel_values N x 3 x 48 x W -> logits N x T x C, batch and width dynamic."""
        path = Path(folder) / ONNX_FILE
        example = torch.zeros(2, 3, INPUT_HEIGHT, MIN_INPUT_WIDTH)
        torch.onnx.export(self.net.eval(), (example,), str(path), dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "time"}})
        return path

    def add_characters(self, new: Sequence[str]) -> None:
        """Grow the dictionary and the CTC head by `new` characters (fine-tuning data the base never saw)."""
        new = [c for c in dict.fromkeys(new) if c not in set(self.charset.characters)]
        if not new:
            return
        head = self.head.head
        grown = torch.nn.Linear(head.in_features, head.out_features + len(new))
        with torch.no_grad():
            grown.weight[: head.out_features] = head.weight
            grown.bias[: head.out_features] = head.bias
            # The mean row with the lowest bias: its logit, mean(w.x) + min(b), never exceeds the mean logit of
            # the old classes, so no argmax (and no reading of the base) changes until training moves it. A
            # suppressed class's bias would leave the new ones a gradient of 0, so it is not counted.
            grown.weight[head.out_features:] = head.weight.mean(0)
            grown.bias[head.out_features:] = head.bias[head.bias > SUPPRESSED_BIAS].min()
        self.head.head = grown
        self.config.head_out_channels = grown.out_features
        self.charset = CtcCharset([*self.charset.characters, *new])

    def suppress_characters(self, characters: Sequence[str]) -> None:
        """Never read `characters` again: their classes get a bias of SUPPRESSED_BIAS, kept by save_pretrained and
        the ONNX export, and the best path takes the next likeliest class (给 drawn is read 給). Training leaves
        them there: a class of probability 0 that no label holds has a gradient of exactly 0."""
        with torch.no_grad():
            self.head.head.bias[[self.charset.encode(character)[0] for character in characters]] = SUPPRESSED_BIAS


def saved_characters(folder: Path) -> list[str]:
    """The dictionary of a folder written by `save_pretrained` (character_list without its blank entry)."""
    processor = json.loads((Path(folder) / PROCESSOR_FILE).read_text(encoding="utf-8"))
    return processor["character_list"][1:]


def ctc_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of N x T x C logits against labels padded with LABEL_PAD."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # T x N x C
    mask = labels != LABEL_PAD
    input_lengths = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
    return F.ctc_loss(log_probs, labels[mask], input_lengths, mask.sum(1), blank=BLANK_INDEX,
                      reduction="mean", zero_infinity=True)


def pretrained_ppocr_v6_small() -> SubtitleRecognizer:
    """PP-OCRv6 small (PaddleOCR, Apache-2.0) from the ONNX export inside the rapidocr wheel: no download."""
    charset = charset_from_onnx(rapidocr_onnx_path())
    model = SubtitleRecognizer(recognizer_config(charset.num_classes), charset.characters)
    load_rapidocr_weights(model)
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
        return cls(Path(folder) / ONNX_FILE, CtcCharset(saved_characters(folder)))

    @classmethod
    def pretrained_ppocr_v6_small(cls) -> OnnxRecognizer:
        """rapidocr's own ONNX file, exactly as shipped: the base before any fine-tuning."""
        return cls(rapidocr_onnx_path(), charset_from_onnx(rapidocr_onnx_path()))

    def read(self, pixel_values: torch.Tensor) -> list[str]:
        (scores,) = self.session.run(None, {self.input_name: pixel_values.numpy()})
        return [self.charset.decode_path(path) for path in np.argmax(scores, axis=-1).tolist()]
