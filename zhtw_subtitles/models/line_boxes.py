"""From the line finder's probability map to the boxes of one subtitle's lines.

The model was trained on each line's box shrunk on every side (so that the two lines of a cue stay apart). Its blobs
above the threshold are joined into lines, their edges placed between pixels where the map crosses the threshold,
and grown back by outsets that the finetune_line_finder stage measures on training frames (`calibrate_outsets`):
how far the rendered line's edges lie beyond the blob's, as a share of the blob's height.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from zhtw_subtitles.core.config import require

FloatBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in the map's pixels, edges between pixels
# Blobs of one line that a gap between words splits are joined when they share this much of the taller one's height
# (the training mask spans the whole line whatever the glyphs, so a line's blobs are about equally tall) and lie at
# most this many heights apart sideways.
SAME_LINE_OVERLAP = 0.7
SAME_LINE_GAP = 1.5
# A glyph low in ink height at a line's end (一 in 一個...) can light a blob of its own, about half as tall as the
# line's and inside its rows: a blob at least this share of the taller one's height, lying within its rows (by
# SAME_LINE_OVERLAP of its own height), joins too. Lower than that it is a speck, left to the fragment rule below.
SAME_LINE_MIN_HEIGHT = 0.4
# The lines of one subtitle are about equally tall: a blob under this share of the tallest line's height is a
# fragment (a lit edge, a stray glyph-like mark), not a line.
MIN_RELATIVE_HEIGHT = 0.5
# A line holds at least one whole character, about as wide as it is tall: a narrower blob is an upright speck.
MIN_LINE_ASPECT = 0.8
# The lines of one subtitle are centred one under the other: a further line's centre lies within this share of the
# wider line's width from the subtitle's, it is this tall relative to the subtitle's first line, at most this many
# heights above or below the subtitle, and overlaps its lines by at most this share of its own height (a blob
# across two lines is not a third line, while the grown boxes of two lines set tight, as in a dark box, overlap by
# about a third when the model's blobs come out fuller than the shrunk training mask).
CUE_CENTRE_OFFSET = 0.25
CUE_HEIGHT_RATIO = (0.6, 1.6)
CUE_MAX_GAP = 1.0
CUE_MAX_OVERLAP = 0.4


@dataclass(frozen=True)
class BoxSettings:
    """How blobs of the probability map become line boxes."""
    threshold: float  # probability above which a pixel belongs to a line
    min_score: float  # a blob's mean probability must reach this
    min_height: int  # a blob's height in map pixels must reach this
    outset_vertical: float  # each line's top and bottom move out by this share of its blob's height
    outset_horizontal: float  # its left and right by this share of the blob's height

    def __post_init__(self) -> None:
        require(0 < self.threshold < 1 and 0 < self.min_score < 1,
                "line_finder.threshold and line_finder.min_score are probabilities in (0, 1)")
        require(self.min_height >= 1, f"line_finder.min_height must be >= 1, got {self.min_height}")
        require(self.outset_vertical >= 0 and self.outset_horizontal >= 0,
                f"line box outsets must be >= 0, got {self.outset_vertical}, {self.outset_horizontal}")


def line_blobs(probability: np.ndarray, settings: BoxSettings) -> list[FloatBox]:
    """The lines' blobs, before growing: connected areas above the threshold that are tall and confident enough,
    the blobs of one line joined, fragments far smaller than the tallest line dropped, each edge placed where the map
    crosses the threshold."""
    above = (probability > settings.threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=4)
    blobs = []
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if h < settings.min_height or probability[labels == label].mean() < settings.min_score:
            continue
        blobs.append([float(x), float(y), float(x + w), float(y + h)])
    lines = join_same_line(blobs)
    tallest = max((y1 - y0 for _, y0, _, y1 in lines), default=0)
    return [refined_edges(probability, line, settings.threshold) for line in lines
            if line[3] - line[1] >= MIN_RELATIVE_HEIGHT * tallest]


def refined_edges(probability: np.ndarray, box, threshold: float) -> FloatBox:
    """`box` (whole pixels) with each edge moved to where the map, read as linear between pixel centres, crosses
    `threshold`: between the last pixel above it and the first one below (at a quarter of a coarse pixel, a small
    line's box is otherwise off by a tenth of its height)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    rows = probability[:, x0:x1].max(axis=1)
    columns = probability[y0:y1].max(axis=0)
    top, bottom = _crossings(rows, y0, y1, threshold)
    left, right = _crossings(columns, x0, x1, threshold)
    return left, top, right, bottom


def _crossings(profile: np.ndarray, start: int, end: int, threshold: float) -> tuple[float, float]:
    """Where `profile` (pixel i's value at i + 0.5) crosses `threshold` on the way into profile[start] and out of
    profile[end - 1]; the pixel edge itself where the run touches the end of the map."""
    low, high = float(start), float(end)
    if start > 0 and profile[start] > profile[start - 1]:
        low = start - 0.5 + (threshold - profile[start - 1]) / (profile[start] - profile[start - 1])
    if end < len(profile) and profile[end - 1] > profile[end]:
        high = end - 0.5 + (profile[end - 1] - threshold) / (profile[end - 1] - profile[end])
    return float(np.clip(low, start - 0.5, start + 0.5)), float(np.clip(high, end - 0.5, end + 0.5))


def grown(blob: FloatBox, settings: BoxSettings) -> FloatBox:
    """The line's box around its blob."""
    x0, y0, x1, y1 = blob
    dy, dx = settings.outset_vertical * (y1 - y0), settings.outset_horizontal * (y1 - y0)
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def boxes_from_probability(probability: np.ndarray, settings: BoxSettings) -> list[FloatBox]:
    """The line boxes of one subtitle (in the map's pixels), top to bottom: the blobs grown back, upright specks
    dropped, other text left out (`one_cue`), the lines of a cue centred on one axis and kept from overlapping."""
    lines = [box for box in (grown(blob, settings) for blob in line_blobs(probability, settings))
             if box[2] - box[0] >= MIN_LINE_ASPECT * (box[3] - box[1])]
    return apart(centred(sorted(one_cue(lines), key=lambda box: box[1])))


def centred(lines: list[FloatBox]) -> list[FloatBox]:
    """The lines of a cue are centred one under the other: a narrower line whose centre lies off the widest line's
    grows on its short side until it is centred there, never past the widest line's ends. The map can leave a
    line's first or last character dark (a lone stroke such as 一), and the recogniser cannot read what is cut off."""
    if len(lines) < 2:
        return lines
    left, _, right, _ = max(lines, key=lambda box: box[2] - box[0])
    axis = (left + right) / 2
    return [(min(x0, max(left, axis - (x1 - axis))), y0, max(x1, min(right, axis + (axis - x0))), y1)
            for x0, y0, x1, y1 in lines]


def apart(lines: list[FloatBox]) -> list[FloatBox]:
    """Lines (top to bottom) whose grown boxes overlap meet half-way instead: the rendered lines of a cue never
    overlap, and a crop reaching into the next line reads its glyphs."""
    lines = [list(box) for box in lines]
    for upper, lower in zip(lines, lines[1:]):
        if upper[3] > lower[1]:
            upper[3] = lower[1] = (upper[3] + lower[1]) / 2
    return [tuple(box) for box in lines]


def one_cue(lines: list[FloatBox]) -> list[FloatBox]:
    """The subtitle's lines: the largest line and the lines stacked against it, centred under or over it, as a cue's
    lines are; other text in the band (a sign, a logo, a blob beside or across the subtitle) is left out."""
    if len(lines) < 2:
        return lines
    cue = [max(lines, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))]
    rest = [box for box in lines if box is not cue[0]]
    while rest:
        joining = next((box for box in rest if _continues_cue(cue, box)), None)
        if joining is None:
            break
        cue.append(joining)
        rest.remove(joining)
    return cue


def _continues_cue(cue: list[FloatBox], box: FloatBox) -> bool:
    first = cue[0]
    height = first[3] - first[1]
    top, bottom = min(b[1] for b in cue), max(b[3] for b in cue)
    centre_offset = abs((box[0] + box[2]) - (first[0] + first[2])) / 2
    overlap = max(min(b[3], box[3]) - max(b[1], box[1]) for b in cue)
    return (centre_offset <= CUE_CENTRE_OFFSET * max(first[2] - first[0], box[2] - box[0])
            and CUE_HEIGHT_RATIO[0] * height <= box[3] - box[1] <= CUE_HEIGHT_RATIO[1] * height
            and max(top - box[3], box[1] - bottom) <= CUE_MAX_GAP * height
            and overlap <= CUE_MAX_OVERLAP * (box[3] - box[1]))


def join_same_line(blobs: list[list[float]]) -> list[list[float]]:
    """Blobs that share most of their height, or a shorter one inside the other's rows, and lie close sideways
    become one (the words of a caption, a line's 一)."""
    blobs = sorted(blobs, key=lambda blob: blob[0])
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(blobs):
            for j in range(i + 1, len(blobs)):
                b = blobs[j]
                overlap = min(a[3], b[3]) - max(a[1], b[1])
                height, shorter = max(a[3] - a[1], b[3] - b[1]), min(a[3] - a[1], b[3] - b[1])
                gap = max(a[0], b[0]) - min(a[2], b[2])
                if (shorter >= SAME_LINE_MIN_HEIGHT * height and overlap >= SAME_LINE_OVERLAP * shorter
                        and gap <= SAME_LINE_GAP * height):
                    blobs[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del blobs[j]
                    joined = True
                    break
            if joined:
                break
    return blobs


def fit_outsets(pairs: list[tuple[FloatBox, FloatBox]]) -> tuple[float, float]:
    """(vertical, horizontal) outsets that grow each blob onto its rendered line, the medians over (blob, line)
    pairs in map pixels: robust to the odd blob that covers only part of its line."""
    require(len(pairs) > 0, "fit_outsets needs at least one (blob, line) pair")
    blobs, lines = np.asarray([p[0] for p in pairs], float), np.asarray([p[1] for p in pairs], float)
    height = blobs[:, 3] - blobs[:, 1]
    vertical = ((lines[:, 3] - lines[:, 1]) - height) / 2 / height
    horizontal = ((lines[:, 2] - lines[:, 0]) - (blobs[:, 2] - blobs[:, 0])) / 2 / height
    return round(max(0.0, float(np.median(vertical))), 4), round(max(0.0, float(np.median(horizontal))), 4)
