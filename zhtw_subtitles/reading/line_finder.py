"""What finds the subtitle lines in bands before the recogniser reads them: the learned finder that
`finetune_line_finder` saves (models/line_detector.py), or the classical locator of reading/lines.py."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from zhtw_subtitles.reading.band import Box
from zhtw_subtitles.reading.lines import find_text_lines


class LineFinder(Protocol):
    def find_lines(self, bands: list[np.ndarray]) -> list[list[Box]]:
        """For each BGR band, the boxes of its subtitle lines in band pixels, top to bottom; [] without a subtitle."""
        ...


class ClassicalLineFinder:
    """`lines.find_text_lines` (white glyphs inside a dark outline, no neural net) as a LineFinder."""

    def find_lines(self, bands: list[np.ndarray]) -> list[list[Box]]:
        return [find_text_lines(band)[0] for band in bands]
