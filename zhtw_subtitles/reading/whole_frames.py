"""Reading whole frames one at a time, for readers that find the subtitle themselves (such as the rapidocr peer)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from tqdm import tqdm

from zhtw_subtitles.dataset.frames import Frame, as_bgr8
from zhtw_subtitles.reading.band import Crop, usable_band


def read_frames_one_by_one(read: Callable[[np.ndarray], str], frames: Iterable[Frame], crop: Crop | None,
                           total: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, unreadable ids), like `inference.read_frames`: frames that could not be decoded, or whose band
    (`crop`) is too small to hold a subtitle, are predicted as empty and reported."""
    ids, texts, unreadable = [], [], []
    for frame in tqdm(frames, total=total, desc="infer", unit="frame"):
        ids.append(frame.id)
        pixels = None if usable_band(frame.pixels, crop) is None else as_bgr8(frame.pixels)
        if pixels is None:
            unreadable.append(frame.id)
        texts.append("" if pixels is None else read(pixels))
    return ids, texts, unreadable
