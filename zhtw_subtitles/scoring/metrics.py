"""Error rates of subtitle predictions, and their breakdown by subtitle length.

Every metric comes in two variants: on the raw text, and "normalised" (see `normalise`), which forgives
punctuation, spacing and full-width/half-width differences that a viewer would not call a misread.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import jiwer
from rapidfuzz.distance import Levenshtein

# Every character is a token and whitespace is kept: jiwer's default CER transform strips leading and
# trailing spaces, which would make `cer` disagree with `mean_edit_distance` on the same texts.
_CHARACTERS = jiwer.ReduceToListOfListOfChars()


def normalise(text: str) -> str:
    """The text the "normalised" variant of every metric compares.

    Unicode NFKC (full-width digits and Latin letters become ASCII, the ideographic space a plain space,
    `…` becomes `...`), then every whitespace character and every punctuation or symbol character
    (Unicode categories P* and S*, e.g. `，。！？、「」` and `~+$`) is removed.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


def score(truths: Sequence[str], predictions: Sequence[str]) -> dict:
    """Metrics of `predictions` against `truths` (same order), raw and normalised; floats rounded to 6 places.

    - `cer`: total character edits (substitutions + deletions + insertions) / total truth characters, over
      the whole set (so long subtitles weigh more). An empty truth adds no characters, but a non-empty
      prediction for it adds its length as insertions. When every truth is empty, `cer` is 0.0 if every
      prediction is empty too, else 1.0.
    - `mean_edit_distance`: Levenshtein distance per image, averaged (the Kaggle competition's metric).
    - `exact_match`: fraction of predictions equal to their truth.
    - `n`: number of images.
    - `false_readings`, `missed`, `empty_frames`: see `empty_frame_rates`.
    """
    _check_pairs(truths, predictions)
    truths_normalised = [normalise(t) for t in truths]
    predictions_normalised = [normalise(p) for p in predictions]
    return {
        "n": len(truths),
        **_metrics(truths, predictions, suffix=""),
        **_metrics(truths_normalised, predictions_normalised, suffix="_normalised"),
        **empty_frame_rates(truths, predictions),
    }


def empty_frame_rates(truths: Sequence[str], predictions: Sequence[str]) -> dict:
    """How a reader tells frames with a subtitle from frames without one (truth ""); whitespace alone is empty.

    - `false_readings`: share of the frames without a subtitle that were read as some text; None (not measured)
      when every frame has a subtitle.
    - `missed`: share of the frames with a subtitle that were read as ""; None when no frame has one.
    - `empty_frames`: how many frames have no subtitle.
    """
    empty = [not p.strip() for t, p in zip(truths, predictions) if not t.strip()]
    read = [not p.strip() for t, p in zip(truths, predictions) if t.strip()]
    return {
        "false_readings": round(empty.count(False) / len(empty), 6) if empty else None,
        "missed": round(read.count(True) / len(read), 6) if read else None,
        "empty_frames": len(empty),
    }


def cer_by_length(truths: Sequence[str], predictions: Sequence[str]) -> list[dict]:
    """Rows `{"length", "cer", "n"}`: raw CER (as in `score`) of the images whose truth has `length` characters."""
    _check_pairs(truths, predictions)
    groups: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for truth, prediction in zip(truths, predictions):
        groups[len(truth)].append((truth, prediction))
    rows = []
    for length in sorted(groups):
        group_truths, group_predictions = zip(*groups[length])
        rows.append({"length": length, "cer": round(_cer(group_truths, group_predictions), 6), "n": len(group_truths)})
    return rows


def _check_pairs(truths: Sequence[str], predictions: Sequence[str]) -> None:
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions: they must pair up one to one")
    if not truths:
        raise ValueError("nothing to score: no truths and no predictions")
    if not all(isinstance(text, str) for text in (*truths, *predictions)):
        raise ValueError("every truth and prediction must be a str (a missing prediction is '', not None or NaN)")


def _metrics(truths: Sequence[str], predictions: Sequence[str], suffix: str) -> dict[str, float]:
    distances = [Levenshtein.distance(t, p) for t, p in zip(truths, predictions)]
    return {
        f"cer{suffix}": round(_cer(truths, predictions), 6),
        f"mean_edit_distance{suffix}": round(sum(distances) / len(distances), 6),
        f"exact_match{suffix}": round(sum(t == p for t, p in zip(truths, predictions)) / len(truths), 6),
    }


def _cer(truths: Sequence[str], predictions: Sequence[str]) -> float:
    counts = jiwer.process_characters(
        list(truths), list(predictions), reference_transform=_CHARACTERS, hypothesis_transform=_CHARACTERS
    )
    edits = counts.substitutions + counts.deletions + counts.insertions
    truth_characters = counts.hits + counts.substitutions + counts.deletions
    if truth_characters == 0:
        # jiwer returns the raw insertion count here, which is not a rate.
        return 0.0 if edits == 0 else 1.0
    return edits / truth_characters
