"""Batched reading of frames with a line recogniser or a VLM that reads the subtitle band.

A line recogniser reads each subtitle line that the line finder boxes in the band, and the frame's text is its lines
top to bottom joined by "\\n": "" when the finder sees no subtitle. A VLM reads the whole band and answers itself."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np
import torch
from tqdm import tqdm

from zhtw_subtitles.dataset.frames import Frame, to_pil
from zhtw_subtitles.models.confidence import read_with_confidence
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.reading.band import usable_band
from zhtw_subtitles.reading.line_finder import ClassicalLineFinder, LineFinder
from zhtw_subtitles.reading.lines import padded_crop


class LineReader(Protocol):
    """A text-line recogniser: reads subtitle lines, as `ppocr_rec.preprocess` pixel values."""

    def read(self, pixel_values: torch.Tensor) -> list[str]: ...


class BandReader(Protocol):
    """A VLM: reads the whole subtitle band (BGR arrays) and finds the line itself."""

    reads_bands: bool

    def read(self, bands: list[np.ndarray]) -> list[str]: ...


def read_frames(model: LineReader | BandReader, frames: Iterable[Frame], crop, batch_size: int,
                line_finder: LineFinder | None = None, total: int | None = None,
                min_confidence: float = 0.0) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, unreadable ids): frames that could not be decoded, or whose band is too small to hold a line,
    are predicted as empty and reported. `line_finder` boxes the lines a line reader reads (default: the classical
    locator); `batch_size` frames go to the finder at once, and lines to the recogniser, which drops a line it reads
    with a mean confidence under `min_confidence` (a stray mark boxed on a frame without a subtitle)."""
    ids, texts, unreadable = [], [], []
    bands: list[tuple[int, np.ndarray]] = []  # position in texts, band
    reads_bands = getattr(model, "reads_bands", False)
    finder = line_finder or ClassicalLineFinder()

    def flush() -> None:
        if reads_bands:
            for position, text in zip(*_read_in_batches(model, bands, batch_size, reads_bands=True)):
                texts[position] = text
        else:
            _read_lines(model, finder, bands, batch_size, texts, min_confidence)
        bands.clear()

    for frame in tqdm(frames, total=total, desc="infer", unit="frame"):
        ids.append(frame.id)
        texts.append("")
        band = usable_band(frame.pixels, crop)
        if band is None:
            unreadable.append(frame.id)
            continue
        bands.append((len(texts) - 1, band))
        if len(bands) == batch_size:
            flush()
    if bands:
        flush()
    return ids, texts, unreadable


def _read_lines(model: LineReader, finder: LineFinder, bands: list[tuple[int, np.ndarray]], batch_size: int,
                texts: list[str], min_confidence: float) -> None:
    """Each band's lines read and joined top to bottom into `texts`; lines read as "", or less surely than
    `min_confidence`, are dropped."""
    crops: list[tuple[tuple[int, int], np.ndarray]] = []  # (position in texts, line), line crop
    for (position, band), boxes in zip(bands, finder.find_lines([band for _, band in bands])):
        for line, box in enumerate(boxes):
            crop = padded_crop(band, box)
            if min(crop.shape[:2]) > 0:
                crops.append(((position, line), crop))
    lines: dict[int, dict[int, str]] = {}
    for (position, line), text in zip(*_read_in_batches(model, crops, batch_size, False, min_confidence)):
        lines.setdefault(position, {})[line] = text.strip()
    for position, read in lines.items():
        texts[position] = "\n".join(read[line] for line in sorted(read) if read[line])


def _read_in_batches(model, items: list[tuple[object, np.ndarray]], batch_size: int, reads_bands: bool,
                     min_confidence: float = 0.0):
    """(tags, texts) of the images of `items` read `batch_size` at a time, similar aspect ratios together (they waste
    less padding); a line read with a mean confidence under `min_confidence` comes back as ""."""
    ordered = sorted(items, key=lambda item: item[1].shape[1] / item[1].shape[0])
    tags, texts = [tag for tag, _ in ordered], []
    for start in range(0, len(ordered), batch_size):
        images = [image for _, image in ordered[start:start + batch_size]]
        if reads_bands:
            texts.extend(model.read(images))
        elif min_confidence > 0:
            readings = read_with_confidence(model, preprocess([to_pil(image) for image in images]))
            texts.extend(text if confidence >= min_confidence else "" for text, confidence in readings)
        else:
            texts.extend(model.read(preprocess([to_pil(image) for image in images])))
    return tags, texts
