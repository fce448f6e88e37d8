"""The subtitle line in the band: the classical locator against PP-OCRv6 det (rapidocr, onnxruntime).

For every frame of a rendered split it compares each method's line box, in frame pixels, with the rendered text
box (glyphs and outline): mean IoU, the share of frames with IoU >= 0.7, the share where a line was found, and
the time per frame (decoded frame in, box out; JPEG decoding is not counted). A det box is the union of the
detected boxes whose centre lies in the band.
Usage: python bench/line_finder.py [--split data/synth/test] [--limit N] [--threads 2]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from rapidocr import RapidOCR
from results import write_results

from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.reading.band import (
    DEFAULT_BAND,
    Box,
    band_bounds,
    crop_band,
    find_text_line,
)
from zhtw_subtitles.reading.peer import offline_rapidocr

DET_ONLY = {"Global.use_cls": False, "Global.use_rec": False}
# rapidocr's default resize (shortest side up to 736) blows a 640x126 band up 5.8 times: on the first 100 test
# frames that scored a mean IoU of 0.56 at 2.3 s a frame. Capping the longest side instead, and unclipping the
# boxes less, suits a band and the tight text box.
DET_BAND = {**DET_ONLY, "Det.limit_type": "max", "Det.limit_side_len": 960, "Det.unclip_ratio": 1.15}


@dataclass
class Score:
    ious: list[float] = field(default_factory=list)
    found: int = 0
    seconds: float = 0.0


def iou(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def classical_box(frame: np.ndarray) -> Box | None:
    x0, y0, _, _ = band_bounds(frame.shape[0], frame.shape[1], DEFAULT_BAND)
    box = find_text_line(crop_band(frame, DEFAULT_BAND))
    return None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)


def det_box(engine: RapidOCR, frame: np.ndarray, band_only: bool) -> Box | None:
    """Union of the det boxes whose centre lies in the band; det runs on the band alone or on the whole frame."""
    x0, y0, x1, y1 = band_bounds(frame.shape[0], frame.shape[1], DEFAULT_BAND)
    result = engine(crop_band(frame, DEFAULT_BAND) if band_only else frame)
    if getattr(result, "boxes", None) is None or len(result.boxes) == 0:
        return None
    corners = np.asarray(result.boxes, dtype=np.float32)
    if band_only:
        corners += (x0, y0)
    centres = corners.mean(axis=1)
    inside = corners[(centres[:, 0] >= x0) & (centres[:, 0] < x1) & (centres[:, 1] >= y0) & (centres[:, 1] < y1)]
    if not len(inside):
        return None
    return (round(float(inside[:, :, 0].min())), round(float(inside[:, :, 1].min())),
            round(float(inside[:, :, 0].max())), round(float(inside[:, :, 1].max())))


def methods(threads: int) -> dict[str, Callable[[np.ndarray], Box | None]]:
    whole = offline_rapidocr(threads, DET_ONLY)
    band = offline_rapidocr(threads, DET_BAND)
    return {
        "classical find_text_line": classical_box,
        "PP-OCRv6 det, whole frame, rapidocr defaults": lambda frame: det_box(whole, frame, band_only=False),
        "PP-OCRv6 det, band, max side 960, unclip 1.15": lambda frame: det_box(band, frame, band_only=True),
    }


def frames_and_boxes(split: Path, limit: int | None) -> Iterator[tuple[np.ndarray, Box]]:
    for index, sample in enumerate(read_split(split)):
        if limit is not None and index >= limit:
            return
        yield cv2.imdecode(np.frombuffer(sample.jpeg, np.uint8), cv2.IMREAD_COLOR), tuple(sample.meta["text_box"])


def evaluate(split: Path, limit: int | None, threads: int) -> dict[str, Score]:
    """Scores of each method, one method after the other: onnxruntime's spinning threads would slow the next."""
    scores = {}
    for name, locate in methods(threads).items():
        score = scores[name] = Score()
        for index, (frame, truth) in enumerate(frames_and_boxes(split, limit)):
            if index == 0:
                locate(frame)  # warm-up: onnxruntime plans and allocates on its first runs
            start = time.perf_counter()
            box = locate(frame)
            score.seconds += time.perf_counter() - start
            score.found += box is not None
            score.ious.append(0.0 if box is None else iou(box, truth))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, default=Path("data/synth/test"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N frames")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    scores = evaluate(args.split, args.limit, args.threads)
    frames = len(next(iter(scores.values())).ious)
    figures = {name: {"mean_iou": round(float(np.mean(score.ious)), 3),
                      "share_iou_at_least_0.7": round(float(np.mean(np.asarray(score.ious) >= 0.7)), 3),
                      "share_found": round(score.found / frames, 3),
                      "ms_per_frame": round(1000 * score.seconds / frames, 1)}
               for name, score in scores.items()}
    print(f"{frames} frames of {args.split}, {args.threads} threads")
    print(f"{'method':<48} {'mean IoU':>8} {'IoU>=0.7':>8} {'found':>6} {'ms/frame':>9}")
    for name, figure in figures.items():
        print(f"{name:<48} {figure['mean_iou']:8.3f} {figure['share_iou_at_least_0.7']:8.3f} "
              f"{figure['share_found']:6.3f} {figure['ms_per_frame']:9.1f}")
    write_results("line_finder", {"frames": frames, "split": str(args.split), "threads": args.threads, "methods": figures})


if __name__ == "__main__":
    main()
