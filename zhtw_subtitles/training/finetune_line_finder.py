"""Fine-tunes PP-OCRv6 small det into the subtitle-line finder (models/line_detector.py) on the renderer's line
boxes: each band is decoded and resized once; with the backbone frozen (the default) its feature maps are computed
once too, and only the neck and head train, on BCE + dice against the shrunk line masks.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import PPOCRV6SmallDetForObjectDetection

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.dataset.frames import decode_frame
from zhtw_subtitles.dataset.shards import Sample, read_split
from zhtw_subtitles.models.line_detector import (
    ONNX_FILE,
    STRIDE,
    LineFinder,
    LineFinderSettings,
    line_logits,
    line_mask,
    nominal_outset,
    resize_band,
    to_pixel_values,
)
from zhtw_subtitles.models.ppocr_det import pretrained_ppocr_v6_small_det
from zhtw_subtitles.reading.band import Box, Crop, band_bounds
from zhtw_subtitles.training.trainer import start_live

IOU_FOUND = 0.7  # a line counts as found when a reported box overlaps it this much


@dataclass(frozen=True)
class LineFinderConfig:
    """The `line_finder` params."""
    input_height: int
    shrink: float
    threshold: float
    min_score: float
    min_height: int
    train_frames: int  # the first frames of the train split that train; the next val_frames measure
    val_frames: int
    steps: int
    batch_size: int
    learning_rate: float
    train_backbone: bool  # False: the backbone stays as pretrained and its features are computed once
    crop_width: int | None  # wider bands train on crops this many input pixels wide; None: whole bands
    logging_every: int
    calibration_frames: int  # the first training frames: int8 activation ranges and the line boxes' outsets
    int8: bool  # inference runs the model quantised to int8 (model.int8.onnx) instead of float32 (model.onnx)

    def __post_init__(self) -> None:
        require(self.train_frames > 0 and self.val_frames >= 0, "line_finder.train_frames must be > 0, val_frames >= 0")
        require(self.steps > 0 and self.batch_size > 0 and self.logging_every > 0,
                "line_finder.steps, batch_size and logging_every must be > 0")
        require(self.learning_rate > 0, f"line_finder.learning_rate must be > 0, got {self.learning_rate}")
        require(0 < self.calibration_frames <= self.train_frames,
                "line_finder.calibration_frames must lie in [1, train_frames]")
        require(self.crop_width is None or (self.crop_width > 0 and self.crop_width % STRIDE == 0),
                f"line_finder.crop_width must be a positive multiple of {STRIDE} or null, got {self.crop_width}")

    @property
    def settings(self) -> LineFinderSettings:
        """The settings before calibration: float32 model, the outsets that undo the training masks' shrink."""
        outset = nominal_outset(self.shrink)
        return LineFinderSettings(self.input_height, self.shrink, self.threshold, self.min_score, self.min_height,
                                  outset, outset, ONNX_FILE)


@dataclass
class Band:
    """One frame's subtitle band as the finder sees it, and its lines' boxes in the band's pixels."""
    key: str
    pixels: np.ndarray  # BGR uint8 at full resolution
    lines: list[Box]


def band_lines(meta: dict, frame_shape: tuple[int, ...], crop: Crop | None) -> list[Box]:
    """The rendered line boxes (metadata `line_boxes`, frame pixels) in band pixels, clipped to the band; a line
    with less than half its height inside the band is not in it (nobody could read it there)."""
    if "line_boxes" not in meta:
        raise ConfigError("rendered frames carry no `line_boxes`: re-run `dvc repro render_synth` with this code")
    x0, y0, x1, y1 = band_bounds(frame_shape[0], frame_shape[1], crop)
    lines = []
    for left, top, right, bottom in meta["line_boxes"]:
        box = (max(left, x0) - x0, max(top, y0) - y0, min(right, x1) - x0, min(bottom, y1) - y0)
        if box[2] > box[0] and 2 * (box[3] - box[1]) >= bottom - top:
            lines.append(box)
    return lines


def read_bands(samples: list[Sample], crop: Crop | None) -> Iterator[Band]:
    """The bands of `samples`, decoded one at a time (a band is a copy: the frame it came from is freed)."""
    for sample in samples:
        frame = decode_frame(sample.jpeg)
        x0, y0, x1, y1 = band_bounds(frame.shape[0], frame.shape[1], crop)
        yield Band(sample.key, frame[y0:y1, x0:x1].copy(), band_lines(sample.meta, frame.shape, crop))


def split_frames(split: Path, train: int, val: int) -> tuple[list[Sample], list[Sample]]:
    samples = []
    for sample in read_split(split):
        samples.append(sample)
        if len(samples) == train + val:
            break
    if len(samples) <= val:
        raise ConfigError(f"{split} holds {len(samples)} frames, fewer than line_finder.val_frames + 1")
    return samples[:len(samples) - val], samples[len(samples) - val:]


class TrainingSet:
    """Resized bands and their masks, with a frozen backbone its feature maps instead of the pixels, grouped by the
    width a batch of them has: their padded width, or `crop_width` for wider bands, which are cut to it anew for
    every batch (half of the crops around one of the band's lines)."""

    def __init__(self, bands: Iterable[Band], count: int, settings: LineFinderSettings, crop_width: int | None,
                 backbone=None):
        self.groups: dict[int, list[tuple]] = defaultdict(list)
        for band in tqdm(bands, total=count, desc="line finder: bands", unit="band"):
            image = resize_band(band.pixels, settings.input_height)
            pixels = torch.from_numpy(to_pixel_values([image]))
            scale = image.shape[0] / band.pixels.shape[0]
            boxes = [tuple(v * scale for v in box) for box in band.lines]
            mask = torch.from_numpy(line_mask(boxes, tuple(pixels.shape[2:]), settings.shrink).astype(np.uint8))
            if backbone is not None:
                with torch.no_grad():
                    inputs = tuple(f.to(torch.float16) for f in backbone(pixels).feature_maps)
            else:
                inputs = (pixels.to(torch.float16),)
            width = min(pixels.shape[3], crop_width or pixels.shape[3])
            self.groups[width].append((inputs, mask, [(box[0] + box[2]) / 2 for box in boxes]))
        self.widths = sorted(self.groups)
        self.weights = np.array([len(self.groups[w]) for w in self.widths], float) / count

    def batch(self, size: int, rng: np.random.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """A random batch from one width group, the group drawn by its share of the bands."""
        width = self.widths[int(rng.choice(len(self.widths), p=self.weights))]
        group = self.groups[width]
        picks = rng.choice(len(group), size=min(size, len(group)), replace=False)
        crops = [cropped(*group[i], width, rng) for i in picks]
        inputs = tuple(torch.cat([crop[0][level] for crop in crops]).float() for level in range(len(crops[0][0])))
        return inputs, torch.stack([crop[1] for crop in crops])[:, None].float()


def cropped(inputs: tuple[torch.Tensor, ...], mask: torch.Tensor, centres: list[float], width: int,
            rng: np.random.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """`width` input pixels of a sample (feature maps cut at their own strides), starting on a multiple of 32."""
    full = mask.shape[1]
    if full == width:
        return inputs, mask
    starts = (full - width) // STRIDE
    if centres and rng.random() < 0.5:
        centre = centres[int(rng.integers(len(centres)))]
        start = int(np.clip(round((centre - width / 2) / STRIDE), 0, starts)) * STRIDE
    else:
        start = int(rng.integers(starts + 1)) * STRIDE
    cut = tuple(level[..., start * level.shape[3] // full:(start + width) * level.shape[3] // full] for level in inputs)
    return cut, mask[:, start:start + width]


def line_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE plus dice over the batch (a batch of empty bands has a dice term of 0 when nothing lights up)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    probability = torch.sigmoid(logits)
    dice = 1 - (2 * (probability * target).sum() + 1) / (probability.sum() + target.sum() + 1)
    return bce + dice


def box_iou(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def line_scores(found: list[list[Box]], truth: list[list[Box]]) -> dict:
    """Per line: the best IoU of a reported box; per empty band: whether anything was reported."""
    ious = [max((box_iou(line, box) for box in boxes), default=0.0) for boxes, lines in zip(found, truth) for line in lines]
    empty = [bool(boxes) for boxes, lines in zip(found, truth) if not lines]
    return {
        "lines": len(ious),
        "share_found": round(float(np.mean(np.asarray(ious) >= IOU_FOUND)), 4) if ious else None,
        "mean_iou": round(float(np.mean(ious)), 4) if ious else None,
        "empty_frames": len(empty),
        "share_empty_with_lines": round(float(np.mean(empty)), 4) if empty else None,
    }


def train_line_finder(config: LineFinderConfig, frames: list[Sample], crop: Crop | None, seed: int,
                      live_dir: Path | None) -> PPOCRV6SmallDetForObjectDetection:
    """The pretrained det fine-tuned on the bands of `frames`."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = pretrained_ppocr_v6_small_det()
    backbone = model.model.backbone
    backbone.requires_grad_(config.train_backbone)
    training_threads = torch.get_num_threads()
    # The frozen backbone's one pass over the bands has no backward step to wait on: all cores (77 -> 45 ms a band
    # on 2 cores); the training steps keep the caller's threads.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    data = TrainingSet(read_bands(frames, crop), len(frames), config.settings, config.crop_width,
                       None if config.train_backbone else backbone.eval())
    torch.set_num_threads(training_threads)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=config.steps, pct_start=0.1)
    model.train()
    if not config.train_backbone:
        backbone.eval()  # its batch-norm statistics stay the pretrained ones
    live = start_live(live_dir, None, {"line_finder": config.__dict__}) if live_dir is not None else None
    progress = tqdm(range(1, config.steps + 1), desc="line finder: train", unit="step")
    for step in progress:
        inputs, target = data.batch(config.batch_size, rng)
        features = backbone(inputs[0]).feature_maps if config.train_backbone else inputs
        loss = line_loss(line_logits(model, features), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % config.logging_every == 0 or step == config.steps:
            progress.set_postfix(loss=f"{loss.item():.3f}")
            if live is not None:
                live.step = step
                live.log_metric("train/loss", loss.item())
                live.log_metric("train/learning_rate", schedule.get_last_lr()[0])
    if live is not None:
        live.end()
    return model.eval()


def measure(finder: LineFinder, bands: list[Band]) -> dict:
    """line_scores of the finder on `bands`, and its milliseconds per band."""
    start = time.perf_counter()
    found = finder.find_lines([band.pixels for band in bands])
    seconds = time.perf_counter() - start
    return {**line_scores(found, [band.lines for band in bands]), "ms_per_band": round(1000 * seconds / max(1, len(bands)), 1)}
