"""Every subtitle line in the band, not only the main one: a two-line cue has two boxes, top to bottom.

The line itself is found exactly as `band.find_text_line` finds one (densest run of rows, its columns, the full
height of its glyph pieces); its rows are then cleared and the search runs again, keeping further lines only
when they are about as tall as the first and stacked right against it, as the lines of one cue are.
"""
from __future__ import annotations

import numpy as np

from zhtw_subtitles.reading.band import (
    MIN_LINE_HEIGHT,
    Box,
    _line_columns,
    _line_rows,
    _looks_like_text,
    _pad,
    _piece_rows,
    outlined_white_mask,
)

MAX_LINES = 3
# A further line of the same cue is this tall relative to the first, and at most this many heights away from it.
LINE_HEIGHT_RATIO = (0.6, 1.6)
MAX_LINE_GAP = 1.0


def find_text_lines(band: np.ndarray) -> tuple[list[Box], np.ndarray]:
    """(boxes of the subtitle lines top to bottom, the glyph mask inside them); no boxes when there is no text."""
    glyphs = outlined_white_mask(band) if min(band.shape[:2]) >= MIN_LINE_HEIGHT else np.zeros(band.shape[:2], np.uint8)
    remaining = glyphs.copy()
    boxes: list[Box] = []
    while len(boxes) < MAX_LINES:
        box = _next_line(remaining, band.shape)
        if box is None or (boxes and not _same_cue(boxes, box)):
            break
        boxes.append(box)
        remaining[box[1]:box[3]] = 0
    in_lines = np.zeros_like(glyphs)
    for x0, y0, x1, y1 in boxes:
        in_lines[y0:y1, x0:x1] = glyphs[y0:y1, x0:x1]
    return sorted(boxes, key=lambda box: box[1]), in_lines


def padded_crop(band: np.ndarray, box: Box, pad_fraction: float = 0.15) -> np.ndarray:
    """The box with `pad_fraction` of its height as margin, as `band.line_crop` cuts a line for the recogniser."""
    x0, y0, x1, y1 = box
    margin = round(pad_fraction * (y1 - y0))
    return band[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]


def union_box(boxes) -> Box:
    """The smallest box holding every box of `boxes`."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _next_line(glyphs: np.ndarray, shape: tuple[int, ...]) -> Box | None:
    rows = _line_rows(glyphs)
    if rows is None:
        return None
    columns = _line_columns(glyphs, rows)
    if columns is None:
        return None
    rows = _piece_rows(glyphs, rows, columns)
    return _pad(rows, columns, shape) if _looks_like_text(glyphs, rows, columns) else None


def _same_cue(boxes: list[Box], box: Box) -> bool:
    first_height = boxes[0][3] - boxes[0][1]
    height = box[3] - box[1]
    if not LINE_HEIGHT_RATIO[0] * first_height <= height <= LINE_HEIGHT_RATIO[1] * first_height:
        return False
    top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
    gap = max(top - box[3], box[1] - bottom)
    return gap <= MAX_LINE_GAP * first_height
