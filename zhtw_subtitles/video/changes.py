"""What the subtitle band shows on one frame, reduced to what can change when the subtitle does: the boxes of its
text lines and the glyph mask inside them. The picture behind the text (pans, scene cuts) does not enter it."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from zhtw_subtitles.reading.band import Box
from zhtw_subtitles.reading.lines import find_text_lines, union_box


@dataclass(frozen=True)
class BandText:
    boxes: tuple[Box, ...]  # the text lines, top to bottom; empty when the band shows no subtitle
    mask: np.ndarray  # uint8 glyph mask of the band, zero outside the boxes

    @property
    def has_text(self) -> bool:
        return bool(self.boxes)


def band_text(band: np.ndarray) -> BandText:
    boxes, mask = find_text_lines(band)
    return BandText(tuple(boxes), mask)


def subtitle_changed(before: BandText, after: BandText, threshold: float) -> bool:
    """True when the glyphs of one frame are not those of the other: more than `threshold` of the glyph pixels of
    both are glyph pixels in one only. Two bands without text are the same. (On the bench video one subtitle
    differs from itself by at most 0.07 from frame to frame, and from the next subtitle by at least 0.6.)"""
    if not before.has_text or not after.has_text:
        return before.has_text != after.has_text
    x0, y0, x1, y1 = union_box(before.boxes + after.boxes)
    a, b = before.mask[y0:y1, x0:x1], after.mask[y0:y1, x0:x1]
    total = int(cv2.countNonZero(a)) + int(cv2.countNonZero(b))
    return int(cv2.countNonZero(cv2.bitwise_xor(a, b))) > threshold * total

