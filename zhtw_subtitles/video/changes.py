"""What the subtitle band shows on one frame, reduced to what can change when the subtitle does: the boxes of its
text lines and the glyph mask inside them. The picture behind the text (pans, scene cuts) enters it as little as
possible.

The classical locator looks first (about 3 ms a 960-pixel band): it finds white text in a dark outline, lines and
glyph mask at once. Where it sees nothing, the learned line finder looks (about 20 ms on one thread), for text it
cannot see: yellow or cyan, on a dark box, with only a shadow. Inside the finder's boxes the glyphs are found as
the classical locator finds them, on the brightest channel (so that coloured text counts as white): a bright
stroke with a dark surround (outline, box or shadow), which a pan behind the text does not change. The two masks
agree on white outlined text, so a cue whose frames the two share is not split.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from zhtw_subtitles.reading.band import Box, outlined_white_mask
from zhtw_subtitles.reading.line_finder import LineFinder
from zhtw_subtitles.reading.lines import find_text_lines, inside_boxes, union_box


@dataclass(frozen=True)
class BandText:
    boxes: tuple[Box, ...]  # the text lines, top to bottom; empty when the band shows no subtitle
    mask: np.ndarray  # uint8 glyph mask of the band, zero outside the boxes

    @property
    def has_text(self) -> bool:
        return bool(self.boxes)


def band_text(band: np.ndarray, finder: LineFinder | None = None) -> BandText:
    boxes, mask = find_text_lines(band)
    if boxes or finder is None:
        return BandText(tuple(boxes), mask)
    boxes = finder.find_lines([band])[0]
    return BandText(tuple(boxes), glyphs_in(band, boxes))


def glyphs_in(band: np.ndarray, boxes) -> np.ndarray:
    """uint8 mask of the outlined bright strokes inside `boxes`, judged on the band's brightest channel (coloured
    text counts as white); zero outside them."""
    return inside_boxes(outlined_white_mask(band.max(axis=2) if band.ndim == 3 else band), boxes)


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

