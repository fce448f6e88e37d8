"""Readings with a confidence: the CTC recogniser's greedy text and how sure it was of each character it emitted."""
from __future__ import annotations

import numpy as np
import torch

from zhtw_subtitles.models.ctc import BLANK_INDEX, CtcCharset
from zhtw_subtitles.models.recognizer import OnnxRecognizer


def read_with_confidence(model, pixel_values: torch.Tensor) -> list[tuple[str, float]]:
    """(text, confidence) per line of `pixel_values` (ppocr_rec.preprocess): the text `model.read` gives, and the
    mean probability of the class chosen at each emitted character (of the blank where nothing was read)."""
    scores, are_probabilities = _class_scores(model, pixel_values)
    return [_scored(model.charset, line, are_probabilities) for line in scores]


def _class_scores(model, pixel_values: torch.Tensor) -> tuple[np.ndarray, bool]:
    """N x T x classes scores, and whether they are probabilities already (else logits)."""
    if isinstance(model, OnnxRecognizer):
        (scores,) = model.session.run(None, {model.input_name: pixel_values.numpy()})
        # rapidocr's shipped export ends in a softmax; the one `export_onnx` writes stops at the logits. One step
        # tells them apart (logits of 18k classes neither are all >= 0 nor sum to 1); the whole array is 100s of MB.
        first = scores[0, 0]
        return scores, bool(first.min() >= 0 and abs(float(first.sum()) - 1) < 1e-3)
    with torch.inference_mode():
        return model(pixel_values).logits.float().numpy(), False


def _scored(charset: CtcCharset, scores: np.ndarray, are_probabilities: bool) -> tuple[str, float]:
    path = scores.argmax(axis=-1)
    emitted = (path != BLANK_INDEX) & np.concatenate(([True], path[1:] != path[:-1]))
    chosen = scores[emitted] if emitted.any() else scores
    if are_probabilities:
        best = chosen.max(axis=-1)
    else:  # the softmax's largest value, computed only at the steps that count: 1 / sum(exp(logit - top logit))
        best = 1.0 / np.exp(chosen - chosen.max(axis=-1, keepdims=True)).sum(axis=-1)
    return charset.decode_path(path.tolist()), float(best.mean())
