"""Readings with a confidence: the CTC recogniser's greedy text and how sure it was of each character it emitted."""
from __future__ import annotations

import numpy as np
import torch

from zhtw_subtitles.models.ctc import BLANK_INDEX, CtcCharset
from zhtw_subtitles.models.recognizer import OnnxRecognizer


def read_with_confidence(model, pixel_values: torch.Tensor) -> list[tuple[str, float]]:
    """(text, confidence) per line of `pixel_values` (ppocr_rec.preprocess): the text `model.read` gives, and the
    mean probability of the class chosen at each emitted character (of the blank where nothing was read)."""
    probabilities = _class_probabilities(model, pixel_values)
    paths = probabilities.argmax(axis=-1)
    best = probabilities.max(axis=-1)
    return [_scored(model.charset, path, scores) for path, scores in zip(paths, best)]


def _class_probabilities(model, pixel_values: torch.Tensor) -> np.ndarray:
    if isinstance(model, OnnxRecognizer):
        (scores,) = model.session.run(None, {model.input_name: pixel_values.numpy()})
        # rapidocr's shipped export ends in a softmax; the one `export_onnx` writes stops at the logits.
        if scores.min() >= 0 and np.allclose(scores.sum(axis=-1), 1, atol=1e-3):
            return scores
        return torch.from_numpy(scores).softmax(-1).numpy()
    with torch.inference_mode():
        return model(pixel_values).logits.float().softmax(-1).numpy()


def _scored(charset: CtcCharset, path: np.ndarray, best: np.ndarray) -> tuple[str, float]:
    emitted = (path != BLANK_INDEX) & np.concatenate(([True], path[1:] != path[:-1]))
    confidence = float(best[emitted].mean()) if emitted.any() else float(best.mean())
    return charset.decode_path(path.tolist()), confidence
