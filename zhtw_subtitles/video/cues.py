"""From stretches of frames showing one subtitle, each read on a few of its frames, to one cue per subtitle."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reading:
    text: str  # "\n" between the lines of a cue
    confidence: float  # in [0, 1]


@dataclass(frozen=True)
class Cue:
    start: float  # seconds: the presentation time of the first frame showing it
    end: float  # seconds: the presentation time of the first frame after it
    text: str


@dataclass
class Stretch:
    """Consecutive frames whose subtitle band shows the same glyphs (or no text at all)."""

    start: float
    has_text: bool
    end: float | None = None
    readings: list[Reading] = field(default_factory=list)


def vote(readings: Sequence[Reading]) -> Reading:
    """The text whose readings add up to the most confidence, with their mean confidence; ties go to the first
    read. No readings vote for the empty text."""
    if not readings:
        return Reading("", 0.0)
    weights: dict[str, list[float]] = defaultdict(list)
    for reading in readings:
        weights[reading.text].append(reading.confidence)
    text = max(weights, key=lambda candidate: sum(weights[candidate]))
    return Reading(text, sum(weights[text]) / len(weights[text]))


def assemble(stretches: Sequence[Stretch], merge_gap: float, min_confidence: float) -> list[Cue]:
    """One cue per subtitle: consecutive text stretches merge when they are at most `merge_gap` seconds apart and
    read the same, or differ by one misread character (a flicker of the band or of the reader); a cue whose
    voted text is empty or less sure than `min_confidence` is dropped (background texture read as text)."""
    merged: list[Stretch] = []
    for stretch in stretches:
        if not stretch.has_text:
            continue
        previous = merged[-1] if merged else None
        if (previous is not None and stretch.start - previous.end <= merge_gap
                and _same_subtitle(vote(previous.readings).text, vote(stretch.readings).text)):
            previous.end = stretch.end
            previous.readings.extend(stretch.readings)
        else:
            merged.append(Stretch(stretch.start, True, stretch.end, list(stretch.readings)))
    cues = []
    for stretch in merged:
        voted = vote(stretch.readings)
        if voted.text.strip() and voted.confidence >= min_confidence:
            cues.append(Cue(stretch.start, stretch.end, voted.text))
    return cues


def _same_subtitle(first: str, second: str) -> bool:
    if first == second:
        return True
    return len(first) == len(second) >= 2 and sum(a != b for a, b in zip(first, second)) == 1
