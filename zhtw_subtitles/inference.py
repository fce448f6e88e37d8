"""Batched reading of frames with a recogniser: test shards or a folder of images, in the competition's CSV form."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from tqdm import tqdm

from .band import crop_band, line_crop
from .line_data import decode_frame, to_pil
from .ppocr_rec import preprocess
from .shards import read_split

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


class LineReader(Protocol):
    """A text-line recogniser: reads the located subtitle line, as `ppocr_rec.preprocess` pixel values."""

    def read(self, pixel_values: torch.Tensor) -> list[str]: ...


class BandReader(Protocol):
    """A VLM: reads the whole subtitle band (BGR arrays) and finds the line itself."""

    reads_bands: bool

    def read(self, bands: list[np.ndarray]) -> list[str]: ...


@dataclass(frozen=True)
class Frame:
    id: str
    pixels: np.ndarray | None  # BGR uint8; None when the file could not be decoded


def shard_frames(split_dir: Path) -> Iterator[Frame]:
    for sample in read_split(split_dir):
        yield Frame(sample.key, decode_frame(sample.jpeg))


def folder_frames(folder: Path) -> Iterator[Frame]:
    """Every image of `folder`, sorted by name; the id is the file name without its extension."""
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        yield Frame(path.stem, cv2.imread(str(path), cv2.IMREAD_COLOR))


def read_frames(model: LineReader | BandReader, frames: Iterable[Frame], crop, batch_size: int,
                total: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, unreadable ids): undecodable frames are predicted as empty and reported."""
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
        if frame.pixels is None:
            unreadable.append(frame.id)
            continue
        batch.append((len(texts) - 1, crop_band(frame.pixels, crop) if reads_bands else line_crop(frame.pixels, crop)))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return ids, texts, unreadable


def read_frames_one_by_one(read: Callable[[np.ndarray], str], frames: Iterable[Frame],
                           total: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """Like `read_frames`, for readers that take whole frames one at a time (such as the rapidocr peer)."""
    ids, texts, unreadable = [], [], []
    for frame in tqdm(frames, total=total, desc="infer", unit="frame"):
        ids.append(frame.id)
        if frame.pixels is None:
            unreadable.append(frame.id)
        texts.append("" if frame.pixels is None else read(frame.pixels))
    return ids, texts, unreadable
