"""transformers' PP-OCRv6 text detector, filled from the rapidocr ONNX export, against that export on onnxruntime."""
from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
import torch
from test_ppocr_rec import BLACK, WHITE, render_line
from transformers import PPOCRV6SmallDetForObjectDetection

from zhtw_subtitles.models.onnx_weights import load_onnx_weights
from zhtw_subtitles.models.ppocr_det import (
    EXAMPLE_SIZE,
    detector_config,
    pretrained_ppocr_v6_small_det,
    rapidocr_det_onnx_path,
)


@pytest.fixture(scope="module")
def detector() -> PPOCRV6SmallDetForObjectDetection:
    torch.set_num_threads(2)
    return pretrained_ppocr_v6_small_det()


@pytest.fixture(scope="module")
def session() -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(str(rapidocr_det_onnx_path()), options, providers=["CPUExecutionProvider"])


def text_frame() -> torch.Tensor:
    """A subtitle line on a dark 128 x 320 frame, normalised as rapidocr's detector does ((x / 255 - 0.5) / 0.5)."""
    frame = np.full((128, 320, 3), 30, dtype=np.uint8)
    line = np.asarray(render_line("你說這話是什麼意思", WHITE, BLACK, font_size=24))[:, :, ::-1]
    frame[70 : 70 + line.shape[0], 40 : 40 + line.shape[1]] = line[:, : 320 - 40]
    return torch.from_numpy((frame.astype(np.float32) / 255 - 0.5) / 0.5).permute(2, 0, 1)[None]


@pytest.mark.parametrize("batch, height, width", [(1, 96, 160), (2, 64, 224)])
def test_matches_onnxruntime_on_noise(detector, session, batch, height, width):
    images = torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(height)) * 2 - 1
    with torch.no_grad():
        probabilities = detector(images).last_hidden_state.numpy()
    expected = session.run(None, {"x": images.numpy()})[0]
    assert probabilities.shape == expected.shape == (batch, 1, height, width)
    assert np.abs(probabilities - expected).max() < 1e-4


def test_finds_the_text_where_onnxruntime_does(detector, session):
    frame = text_frame()
    with torch.no_grad():
        probabilities = detector(frame).last_hidden_state.numpy()[0, 0]
    expected = session.run(None, {"x": frame.numpy()})[0][0, 0]
    assert np.abs(probabilities - expected).max() < 1e-4
    rows = np.nonzero((probabilities > 0.3).any(axis=1))[0]
    assert 70 <= rows.min() and rows.max() < 110  # the line, not the empty frame above it


def test_pyramid_levels_paired_in_the_wrong_order_fail_loudly():
    # Without paddle_neck_order the finest neck level meets the export's coarsest one.
    with pytest.raises(ValueError, match=r"model\.neck\.insert_conv\.0\.in_conv .*output \(16, 24\) .*is \(2, 3\)"):
        load_onnx_weights(PPOCRV6SmallDetForObjectDetection(detector_config()), rapidocr_det_onnx_path(),
                          torch.zeros(1, 3, *EXAMPLE_SIZE))
