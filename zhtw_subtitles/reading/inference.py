"""Batched reading of frames with a line recogniser or a VLM that reads the subtitle band."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np
import torch
from tqdm import tqdm

from zhtw_subtitles.dataset.frames import Frame, to_pil
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.reading.band import line_of_band, usable_band


class LineReader(Protocol):
    """A text-line recogniser: reads the located subtitle line, as `ppocr_rec.preprocess` pixel values."""

    def read(self, pixel_values: torch.Tensor) -> list[str]: ...


class BandReader(Protocol):
    """A VLM: reads the whole subtitle band (BGR arrays) and finds the line itself."""

    reads_bands: bool

    def read(self, bands: list[np.ndarray]) -> list[str]: ...


def read_frames(model: LineReader | BandReader, frames: Iterable[Frame], crop, batch_size: int,
                total: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, unreadable ids): frames that could not be decoded, or whose band is too small to hold a line,
    are predicted as empty and reported."""
    ids, texts, unreadable = [], [], []
    batch: list[tuple[int, np.ndarray]] = []
    reads_bands = getattr(model, "reads_bands", False)

    def flush() -> None:
        # Similar widths together waste less padding.
        batch.sort(key=lambda item: item[1].shape[1] / item[1].shape[0])
        images = [image for _, image in batch]
        for (position, _), text in zip(batch, model.read(images if reads_bands else preprocess([to_pil(i) for i in images]))):
            texts[position] = text
        batch.clear()

    for frame in tqdm(frames, total=total, desc="infer", unit="frame"):
        ids.append(frame.id)
        texts.append("")
        band = usable_band(frame.pixels, crop)
        if band is None:
            unreadable.append(frame.id)
            continue
        batch.append((len(texts) - 1, band if reads_bands else line_of_band(band)))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return ids, texts, unreadable
