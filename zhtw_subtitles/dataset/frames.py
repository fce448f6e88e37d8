"""Frames to read: decoded from the rendered shards or from a folder of images (BGR uint8 arrays)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from zhtw_subtitles.dataset.shards import read_split

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass(frozen=True)
class Frame:
    id: str
    pixels: np.ndarray | None  # BGR uint8; None when the file could not be decoded


def as_bgr8(image: np.ndarray) -> np.ndarray | None:
    """`image` as a BGR uint8 array: grey and alpha images, 16-bit and float pixels are converted; None when it is
    no picture (empty, or a channel count other than 1, 3 or 4)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.size == 0 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        return None
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype.kind == "f":
        scale = 255 if image.max(initial=0) <= 1 else 1  # floats in [0, 1] or already in [0, 255]
        image = np.clip(image * scale, 0, 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR) if image.shape[2] == 4 else image


def decode_frame(jpeg: bytes) -> np.ndarray | None:
    return cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR) if jpeg else None


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))


def shard_frames(split_dir: Path) -> Iterator[Frame]:
    for sample in read_split(split_dir):
        yield Frame(sample.key, decode_frame(sample.jpeg))


def folder_frames(folder: Path) -> Iterator[Frame]:
    """Every image of `folder`, sorted by name; the id is the file name without its extension."""
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        yield Frame(path.stem, cv2.imread(str(path), cv2.IMREAD_COLOR))
