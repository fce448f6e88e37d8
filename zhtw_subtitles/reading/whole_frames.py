"""Reading whole frames one at a time, for readers that find the subtitle themselves (such as the rapidocr peer)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from tqdm import tqdm

from zhtw_subtitles.dataset.frames import Frame


def read_frames_one_by_one(read: Callable[[np.ndarray], str], frames: Iterable[Frame],
                           total: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, unreadable ids), like `inference.read_frames`: undecodable frames are predicted as empty."""
    ids, texts, unreadable = [], [], []
    for frame in tqdm(frames, total=total, desc="infer", unit="frame"):
        ids.append(frame.id)
        if frame.pixels is None:
            unreadable.append(frame.id)
        texts.append("" if frame.pixels is None else read(frame.pixels))
    return ids, texts, unreadable
