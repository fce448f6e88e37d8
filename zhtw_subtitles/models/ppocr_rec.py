"""PP-OCRv6_small_rec (PaddleOCR text-line recogniser, Apache-2.0) as transformers' own
`PPOCRV6SmallRecForTextRecognition`, filled with the weights of rapidocr's `PP-OCRv6_rec_small.onnx`, and rapidocr's
way of preparing its input (`preprocess`).

The native model: a PP-LCNetV4 backbone, a (3, 2) average pool down to one feature row, an EncoderWithSVTR neck
(two 1x1 convs, a 1x7 depthwise conv, two transformer blocks, additive skip) and a linear head over 18,710 CTC
classes, whose softmax is the model's output. `CtcNetwork` runs the same modules but stops before the softmax: CTC
training wants the logits.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
from PIL import Image
from torch import nn
from transformers import PPOCRV6SmallRecConfig, PPOCRV6SmallRecForTextRecognition
from transformers.models.pp_ocrv6_small_rec.modeling_pp_ocrv6_small_rec import (
    PPOCRV6SmallRecEncoderWithSVTR,
    PPOCRV6SmallRecModel,
)

from zhtw_subtitles.models.ctc import CtcCharset
from zhtw_subtitles.models.onnx_weights import load_onnx_weights

INPUT_HEIGHT = 48
# rapidocr's rec_img_shape width: narrower batches are padded up to it.
MIN_INPUT_WIDTH = 320
# Paddle's SVTR blocks normalise with epsilon 1e-5 and the neck's final LayerNorm with 1e-6, but the native config
# has one layer_norm_eps for both. It holds the blocks' 1e-5 (with 1e-6 there the probabilities move by up to
# 9e-5), and `match_paddle_final_norm` sets the final norm back to 1e-6 on the module; plain transformers, which
# uses 1e-5 there too, differs from the export by less than 1e-5.
BLOCK_LAYER_NORM_EPS = 1e-5
FINAL_LAYER_NORM_EPS = 1e-6


def rapidocr_onnx_path() -> Path:
    """The PP-OCRv6 small recogniser shipped inside the rapidocr wheel."""
    return Path(find_spec("rapidocr").origin).parent / "models" / "PP-OCRv6_rec_small.onnx"


def recognizer_config(num_classes: int) -> PPOCRV6SmallRecConfig:
    """The native config of the wheel's recogniser: the default architecture, the head sized to `num_classes`."""
    return PPOCRV6SmallRecConfig(head_out_channels=num_classes, layer_norm_eps=BLOCK_LAYER_NORM_EPS)


def match_paddle_final_norm(neck: PPOCRV6SmallRecEncoderWithSVTR) -> None:
    neck.norm.eps = FINAL_LAYER_NORM_EPS


def freeze_batchnorm_statistics(module: nn.Module) -> None:
    """Keep every BatchNorm in eval mode: running statistics are used and never updated (their affine weights still
    learn). The backbone's BatchNorms were folded into conv biases at export and are identities with no statistics
    of their own, so batch statistics would change what the network computes."""
    for child in module.modules():
        if isinstance(child, nn.BatchNorm2d):
            child.eval()


class CtcNetwork(nn.Module):
    """pixel_values N x 3 x 48 x W (BGR in [-1, 1]) -> N x T x C CTC logits, T = ceil(ceil(W / 2) / 2) // 2.

    `backbone` is the native PPOCRV6SmallRecModel (PP-LCNetV4 + the average pool), `neck` the native SVTR encoder
    (N x T x 120 features) and `head` the classifier, or Identity where only the features are wanted. BatchNorm
    statistics stay frozen in training (see freeze_batchnorm_statistics).
    """

    def __init__(self, backbone: PPOCRV6SmallRecModel, neck: PPOCRV6SmallRecEncoderWithSVTR, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    @classmethod
    def encoder(cls) -> CtcNetwork:
        """Backbone and neck alone, with random weights to be loaded: pixel values -> N x T x 120 features."""
        config = recognizer_config(num_classes=1)
        neck = PPOCRV6SmallRecEncoderWithSVTR(config)
        match_paddle_final_norm(neck)
        return cls(PPOCRV6SmallRecModel(config), neck, nn.Identity())

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        features = self.backbone(pixel_values).last_hidden_state
        if features.shape[2] != 1:
            raise ValueError(f"the neck needs one feature row (input height {INPUT_HEIGHT}), got {features.shape[2]}")
        return self.head(self.neck(features).last_hidden_state)

    def train(self, mode: bool = True) -> CtcNetwork:
        super().train(mode)
        freeze_batchnorm_statistics(self)
        return self


def preprocess(
    images: Sequence[Image.Image],
    height: int = INPUT_HEIGHT,
    min_width: int = MIN_INPUT_WIDTH,
    max_width: int | None = None,
) -> torch.Tensor:
    """rapidocr's `TextRecognizer.resize_norm_img` applied to `images` as one batch.

    Every image is resized with OpenCV bilinear to `height` and width min(ceil(height * w / h), batch width),
    keeping its aspect unless it is wider than the batch; channels are BGR (rapidocr converts PIL's RGB to OpenCV
    order, as PaddleOCR trained), scaled to (x / 255 - 0.5) / 0.5, and zero-padded on the right. The batch width is
    int(height * max(min_width / height, widest w / h)), capped at `max_width` when given (wider lines are squeezed).

    Not transformers' PPOCRV6SmallRecImageProcessor: that one needs torchvision, resizes with torchvision's
    bilinear (not bit-equal to OpenCV's), and stretches every image of a batch to the widest one's size.
    """
    max_ratio = min_width / height
    for image in images:
        max_ratio = max(max_ratio, image.width / image.height)
    batch_width = int(height * max_ratio)
    if max_width is not None:
        batch_width = min(batch_width, max_width)

    batch = np.zeros((len(images), 3, height, batch_width), dtype=np.float32)
    for row, image in zip(batch, images):
        # Same expression as rapidocr, so the float rounding before the ceil agrees.
        resized_width = min(math.ceil(height * (image.width / image.height)), batch_width)
        bgr = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
        resized = cv2.resize(bgr, (resized_width, height)).astype(np.float32)
        row[:, :, :resized_width] = (resized.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return torch.from_numpy(batch)


def load_rapidocr_weights(model: PPOCRV6SmallRecForTextRecognition, onnx_path: str | Path | None = None) -> None:
    """Fill `model` (sized by `recognizer_config`, final norm matched) with every weight of the ONNX export."""
    load_onnx_weights(model, onnx_path or rapidocr_onnx_path(), torch.zeros(1, 3, INPUT_HEIGHT, 2 * INPUT_HEIGHT))


def charset_from_onnx(onnx_path: str | Path) -> CtcCharset:
    """The dictionary stored in the export's metadata key `character`, one character per line."""
    proto = onnx.load(str(onnx_path), load_external_data=False)
    metadata = {prop.key: prop.value for prop in proto.metadata_props}
    return CtcCharset.from_paddle_dictionary(metadata["character"].splitlines())
