"""Time-matched scores of predicted subtitle cues against a reference file, after the ICPR 2022 MSR challenge.

Each reference cue is matched to at most one predicted cue, and each prediction to at most one reference, by
temporal IoU >= 0.5 (best pairs first). The CER counts the edits of matched pairs, every character of an
unmatched reference cue (missed) and of an unmatched predicted cue (spurious), over the reference characters.
Line breaks are layout, not text: the CER compares the cues' characters without them, and `line_layout` is
the share of matched pairs with as many lines as the reference.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from zhtw_subtitles.scoring.metrics import normalise

MIN_IOU = 0.5


class TimedText(Protocol):
    start: float  # seconds
    end: float
    text: str


def temporal_iou(a: TimedText, b: TimedText) -> float:
    overlap = min(a.end, b.end) - max(a.start, b.start)
    if overlap <= 0:
        return 0.0
    return overlap / (max(a.end, b.end) - min(a.start, b.start))


def match_cues(reference: Sequence[TimedText], predicted: Sequence[TimedText]) -> list[tuple[int, int]]:
    """(reference index, predicted index) pairs, one to one, with temporal IoU >= 0.5, highest IoU first."""
    candidates = sorted(((temporal_iou(r, p), i, j) for i, r in enumerate(reference) for j, p in enumerate(predicted)
                         if r.start < p.end and p.start < r.end), reverse=True)
    pairs, used_reference, used_predicted = [], set(), set()
    for iou, i, j in candidates:
        if iou < MIN_IOU:
            break
        if i not in used_reference and j not in used_predicted:
            pairs.append((i, j))
            used_reference.add(i)
            used_predicted.add(j)
    return sorted(pairs)


@dataclass(frozen=True)
class TimedCounts:
    """What the scores are made of; counts of several videos add up to the pooled scores."""

    reference_cues: int = 0
    predicted_cues: int = 0
    matched_cues: int = 0
    edits: int = 0
    edits_normalised: int = 0
    characters: int = 0
    characters_normalised: int = 0
    start_error_ms: float = 0.0  # summed over matched cues
    end_error_ms: float = 0.0
    same_layout: int = 0  # matched cues with as many lines as the reference

    def __add__(self, other: TimedCounts) -> TimedCounts:
        return TimedCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def scores(self) -> dict:
        """cer and cer_normalised (see scoring.metrics.normalise), cue recall and precision, mean absolute start
        and end error in ms over matched cues, line_layout; None where a rate has nothing to divide by."""
        matched = self.matched_cues

        def rate(part: float, whole: float, digits: int = 6) -> float | None:
            return round(part / whole, digits) if whole else None

        return {
            "reference_cues": self.reference_cues, "predicted_cues": self.predicted_cues, "matched_cues": matched,
            "cer": rate(self.edits, self.characters), "cer_normalised": rate(self.edits_normalised, self.characters_normalised),
            "cue_recall": rate(matched, self.reference_cues), "cue_precision": rate(matched, self.predicted_cues),
            "start_error_ms": rate(self.start_error_ms, matched, 1), "end_error_ms": rate(self.end_error_ms, matched, 1),
            "line_layout": rate(self.same_layout, matched),
        }


def timed_counts(reference: Sequence[TimedText], predicted: Sequence[TimedText]) -> TimedCounts:
    pairs = match_cues(reference, predicted)
    matched_reference = {i for i, _ in pairs}
    matched_predicted = {j for _, j in pairs}
    edits, characters = [], []
    for clean in (_without_breaks, normalise):
        total = sum(Levenshtein.distance(clean(reference[i].text), clean(predicted[j].text)) for i, j in pairs)
        total += sum(len(clean(cue.text)) for i, cue in enumerate(reference) if i not in matched_reference)
        total += sum(len(clean(cue.text)) for j, cue in enumerate(predicted) if j not in matched_predicted)
        edits.append(total)
        characters.append(sum(len(clean(cue.text)) for cue in reference))
    return TimedCounts(
        reference_cues=len(reference), predicted_cues=len(predicted), matched_cues=len(pairs),
        edits=edits[0], edits_normalised=edits[1], characters=characters[0], characters_normalised=characters[1],
        start_error_ms=sum(abs(predicted[j].start - reference[i].start) * 1000 for i, j in pairs),
        end_error_ms=sum(abs(predicted[j].end - reference[i].end) * 1000 for i, j in pairs),
        same_layout=sum(_lines(reference[i].text) == _lines(predicted[j].text) for i, j in pairs),
    )


def timed_scores(reference: Sequence[TimedText], predicted: Sequence[TimedText]) -> dict:
    return timed_counts(reference, predicted).scores()


def _without_breaks(text: str) -> str:
    return "".join(text.split("\n"))


def _lines(text: str) -> int:
    return len([line for line in text.split("\n") if line.strip()])
