"""Every subtitle line in the band, not only the main one: a two-line cue has two boxes, top to bottom.

It works on `band.outlined_white_mask` as `band.find_text_line` does, with two changes that video needs, where
every frame of a subtitle must be found, whatever passes behind it:
- rows are chosen on the glyph count smoothed over about a stroke's height, so that a line whose busiest rows are
  one long bar (一, 二) still spans its other characters;
- rows and columns are chosen in turn, each inside the other, until they settle, so that bright clutter above or
  beside the subtitle (chrome, a lit rocket) is left out of the box; when the busiest rows are clutter that does
  not fill its box as text does, the next busiest run is tried.
A line's rows are then cleared and the search runs again, keeping further lines only when they are about as tall
as the first, stacked right against it and overlapping it sideways, as the lines of one cue are.
"""
from __future__ import annotations

import cv2
import numpy as np

from zhtw_subtitles.reading.band import (
    MIN_LINE_HEIGHT,
    ROW_SHARE,
    Box,
    _line_columns,
    _looks_like_text,
    _pad,
    _piece_rows,
    _runs,
    outlined_white_mask,
)

MAX_LINES = 3
# A further line of the same cue is this tall relative to the first, and at most this many heights away from it.
LINE_HEIGHT_RATIO = (0.6, 1.6)
MAX_LINE_GAP = 1.0
ROW_SMOOTHING = 0.008  # of the band width: about the thickness of a stroke of a subtitle font
SETTLE_ROUNDS = 4
CANDIDATE_RUNS = 3
# Glyph pixels fill at least this share of a subtitle line's box (0.15 for 等一下, 0.3 for 嗯); a few thin bright
# arcs (chrome, wires) that pass the other tests fill less than 0.1.
MIN_FILL = 0.1
# Blank rows inside a found line split it when both parts are at least this share of its height (two lines of a
# cue close together); characters such as 二 leave blank rows too, but only thin parts beside them.
SPLIT_SHARE = 0.3


def find_text_lines(band: np.ndarray) -> tuple[list[Box], np.ndarray]:
    """(boxes of the subtitle lines top to bottom, the glyph mask inside them); no boxes when there is no text."""
    if band.ndim not in (2, 3) or min(band.shape[:2]) < MIN_LINE_HEIGHT:
        return [], np.zeros(band.shape[:2], np.uint8)
    glyphs = outlined_white_mask(band)
    remaining = glyphs.copy()
    boxes: list[Box] = []
    while len(boxes) < MAX_LINES:
        box = _next_line(remaining, band.shape)
        if box is None or (boxes and not _same_cue(boxes, box)):
            break
        boxes.append(box)
        remaining[box[1]:box[3]] = 0
        # Another line of this cue lies within reach of these: the rest of the band need not be searched.
        _, top, _, bottom = union_box(boxes)
        reach = round((MAX_LINE_GAP + LINE_HEIGHT_RATIO[1]) * (boxes[0][3] - boxes[0][1]))
        remaining[:max(0, top - reach)] = 0
        remaining[bottom + reach:] = 0
    return sorted(boxes, key=lambda box: box[1]), inside_boxes(glyphs, boxes)


def inside_boxes(mask: np.ndarray, boxes) -> np.ndarray:
    """`mask` inside `boxes`, zero elsewhere."""
    kept = np.zeros_like(mask)
    for x0, y0, x1, y1 in boxes:
        kept[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    return kept


def padded_crop(band: np.ndarray, box: Box, pad_fraction: float = 0.15) -> np.ndarray:
    """The box with `pad_fraction` of its height as margin, as `band.line_crop` cuts a line for the recogniser."""
    x0, y0, x1, y1 = box
    margin = round(pad_fraction * (y1 - y0))
    return band[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]


def union_box(boxes) -> Box:
    """The smallest box holding every box of `boxes`."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _next_line(glyphs: np.ndarray, shape: tuple[int, ...]) -> Box | None:
    """The first of the busiest runs of rows that settles into a box that looks like a line of text."""
    window = max(3, round(ROW_SMOOTHING * glyphs.shape[1])) | 1
    for rows in _row_runs(glyphs, window)[:CANDIDATE_RUNS]:
        box = _settled_line(glyphs, rows, window, shape)
        if box is not None:
            return box
    return None


def _settled_line(glyphs: np.ndarray, rows: tuple[int, int], window: int, shape: tuple[int, ...]) -> Box | None:
    for _ in range(SETTLE_ROUNDS):
        columns = _line_columns(glyphs, rows)
        if columns is None:
            return None
        inside = _row_runs(glyphs[:, columns[0]:columns[1]], window)
        if not inside or inside[0] == rows:
            break
        rows = inside[0]
    rows = _piece_rows(glyphs, rows, columns)
    if not _looks_like_text(glyphs, rows, columns):
        return None
    box = _pad(rows, columns, shape)
    ink = int(glyphs[box[1]:box[3], box[0]:box[2]].sum(dtype=np.int64))
    return box if ink >= MIN_FILL * (box[2] - box[0]) * (box[3] - box[1]) else None


def _row_runs(glyphs: np.ndarray, window: int) -> list[tuple[int, int]]:
    """Runs of rows busy on the glyph count smoothed over `window` rows, the most glyph pixels first; each trimmed to
    its inked rows and split at a blank gap that separates two lines."""
    counts = glyphs.sum(axis=1, dtype=np.int32).astype(np.float32)
    if counts.max() < 2:
        return []
    smooth = cv2.blur(counts[:, None], (1, window), borderType=cv2.BORDER_CONSTANT)[:, 0]
    runs = sorted(_runs(smooth >= ROW_SHARE * smooth.max()), key=lambda run: -smooth[run[0]:run[1]].sum())
    trimmed = []
    for start, end in runs:
        inked = np.flatnonzero(counts[start:end])
        if inked.size:
            trimmed.append(_split_at_gap(counts, start + int(inked[0]), start + int(inked[-1]) + 1))
    return trimmed


def _split_at_gap(counts: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The denser part of rows [start, end) when its longest blank run leaves two parts of a line's height each."""
    blanks = _runs(counts[start:end] == 0)
    if not blanks:
        return start, end
    gap_start, gap_end = max(blanks, key=lambda run: run[1] - run[0])
    upper, lower = (start, start + gap_start), (start + gap_end, end)
    if min(upper[1] - upper[0], lower[1] - lower[0]) < SPLIT_SHARE * (end - start):
        return start, end
    return max(upper, lower, key=lambda part: counts[part[0]:part[1]].sum())


def _same_cue(boxes: list[Box], box: Box) -> bool:
    first_height = boxes[0][3] - boxes[0][1]
    height = box[3] - box[1]
    if not LINE_HEIGHT_RATIO[0] * first_height <= height <= LINE_HEIGHT_RATIO[1] * first_height:
        return False
    left, top, right, bottom = union_box(boxes)
    gap = max(top - box[3], box[1] - bottom)
    return gap <= MAX_LINE_GAP * first_height and box[0] < right and left < box[2]
