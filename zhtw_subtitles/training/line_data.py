"""Subtitle line crops from rendered frames, as training and validation data for the CTC recogniser."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from zhtw_subtitles.dataset.frames import decode_frame, to_pil
from zhtw_subtitles.dataset.shards import Sample, read_split
from zhtw_subtitles.models.ctc import CtcCharset
from zhtw_subtitles.models.ppocr_rec import INPUT_HEIGHT, MIN_INPUT_WIDTH, preprocess
from zhtw_subtitles.models.recognizer import LABEL_PAD
from zhtw_subtitles.reading.band import Crop, line_crop
from zhtw_subtitles.reading.lines import padded_crop


@dataclass(frozen=True)
class LineCrop:
    key: str  # the frame's key; a two-line frame gives two crops under one key
    image: np.ndarray | None  # BGR uint8; None when the frame could not be decoded
    text: str


def lines_by_frame(split_dir: Path, crop: Crop | None, keys: Iterable[str]) -> dict[str, list[LineCrop]]:
    """{key: the frame's subtitle lines, top to bottom} for the frames of a rendered split named by `keys`."""
    wanted = set(keys)
    lines: dict[str, list[LineCrop]] = {}
    with tqdm(total=len(wanted), desc="cut subtitle lines", unit="frame") as progress:
        for sample in read_split(split_dir):
            if sample.key in wanted:
                lines[sample.key] = frame_lines(sample, crop)
                progress.update()
    return lines


def frame_lines(sample: Sample, crop: Crop | None) -> list[LineCrop]:
    """One crop per drawn line, cut from the render's `line_boxes` with the margin reading uses, holding that line's
    part of the "\n"-separated truth; none for a frame without a subtitle. Frames rendered before line boxes were
    recorded have one line, which the classical locator finds in the `crop` band."""
    frame = decode_frame(sample.jpeg)
    if frame is None:
        return [LineCrop(sample.key, None, sample.text)]
    if "line_boxes" not in sample.meta:
        return [LineCrop(sample.key, line_crop(frame, crop), sample.text)]
    boxes = sample.meta["line_boxes"]
    texts = sample.text.split("\n") if sample.text else []
    if len(boxes) != len(texts):
        raise ValueError(f"frame {sample.key}: {len(boxes)} line boxes but {len(texts)} lines of text "
                         f"{sample.text!r}: the split is damaged, run `dvc repro render_synth`")
    return [LineCrop(sample.key, padded_crop(frame, tuple(box)), text) for box, text in zip(boxes, texts)]


class LineDataset(torch.utils.data.Dataset):
    """Line crops with their CTC labels; with `augment`, each access jitters the crop's margins and contrast."""

    def __init__(self, lines: list[LineCrop], charset: CtcCharset, augment: bool, seed: int):
        decoded = [line for line in lines if line.image is not None]
        # A line holding a character the recogniser has no class for (a validation subtitle with a character that
        # neither the training lines nor the base dictionary hold) can never be read right, however it trains: it
        # would only add an error no training step can remove, so it is left out, with a count (the test CER of
        # the score stage still counts such characters).
        self.lines = [line for line in decoded if not charset.unknown_characters(line.text)]
        if len(self.lines) < len(decoded):
            unknown = dict.fromkeys(c for line in decoded for c in charset.unknown_characters(line.text))
            print(f"left out {len(decoded) - len(self.lines)} of {len(decoded)} lines: they hold characters the "
                  f"recogniser has no class for ({''.join(unknown)})")
        self.labels = [charset.encode(line.text) for line in self.lines]
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def input_widths(self) -> list[int]:
        """Each line's width once `preprocess` has resized it (before augmentation's small change), the narrow ones
        counted at the width they are padded to."""
        return [max(MIN_INPUT_WIDTH, int(INPUT_HEIGHT * (line.image.shape[1] / line.image.shape[0]))) for line in self.lines]

    def __getitem__(self, index: int) -> dict:
        image = self.lines[index].image
        if self.augment:
            image = jitter(image, self.rng)
        return {"image": image, "labels": self.labels[index]}


def jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim or pad each side by up to 15% of the line height, and vary contrast and brightness a little."""
    height = image.shape[0]
    top, bottom, left, right = (int(v) for v in rng.integers(-height * 15 // 100, height * 15 // 100 + 1, size=4))
    image = cv2.copyMakeBorder(image, max(top, 0), max(bottom, 0), max(left, 0), max(right, 0), cv2.BORDER_REPLICATE)
    h, w = image.shape[:2]
    image = image[max(-top, 0): h - max(-bottom, 0), max(-left, 0): w - max(-right, 0)]
    gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
    return cv2.convertScaleAbs(image, alpha=gain, beta=offset)


def collate(batch: list[dict]) -> dict[str, torch.Tensor]:
    """pixel_values as the recogniser expects them; labels padded with LABEL_PAD."""
    pixel_values = preprocess([to_pil(item["image"]) for item in batch])
    longest = max(len(item["labels"]) for item in batch)
    labels = torch.full((len(batch), longest), LABEL_PAD, dtype=torch.long)
    for row, item in zip(labels, batch):
        row[: len(item["labels"])] = torch.tensor(item["labels"], dtype=torch.long)
    return {"pixel_values": pixel_values, "labels": labels}
