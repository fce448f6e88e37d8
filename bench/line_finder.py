"""The subtitle lines in the band, per line: the classical locator, PP-OCRv6 det as shipped, and the learned finder.

For every frame of a rendered split it compares each method's line boxes, in band pixels, with the rendered line
boxes (glyphs and outline; metadata `line_boxes`, or `text_box` for renders made before it): the share of lines
found at IoU >= 0.7, their mean IoU, the share of frames without a subtitle where a line is reported, and the time
per band (decoded band in, boxes out; JPEG decoding is not counted); then the time per 720p band alone. A method
that cannot run (no models/line_finder yet) is "not measured".
Usage: python bench/line_finder.py [--split data/synth/unseen] [--model models/line_finder] [--limit N] [--threads 2]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from results import write_results

from zhtw_subtitles.core.paths import LINE_FINDER_DIR, SYNTH_UNSEEN
from zhtw_subtitles.dataset.frames import decode_frame
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.models.line_boxes import join_same_line
from zhtw_subtitles.models.line_detector import load_line_finder
from zhtw_subtitles.reading.band import DEFAULT_BAND, Box, crop_band
from zhtw_subtitles.reading.lines import find_text_lines
from zhtw_subtitles.reading.peer import offline_rapidocr
from zhtw_subtitles.training.finetune_line_finder import band_lines, line_scores

# rapidocr's default resize (shortest side up to 736) blows a band up several times; capping the longest side and
# unclipping the boxes less suits a band and the tight line box.
DET_BAND = {"Global.use_cls": False, "Global.use_rec": False,
            "Det.limit_type": "max", "Det.limit_side_len": 960, "Det.unclip_ratio": 1.15}
BATCH = 8  # bands per call, as the reader batches them
SPEED_BANDS = 32
Finder = Callable[[list[np.ndarray]], list[list[Box]]]


def classical(bands: list[np.ndarray]) -> list[list[Box]]:
    return [find_text_lines(band)[0] for band in bands]


def pretrained_det(threads: int) -> Finder:
    """rapidocr's det on the band; its boxes of one line (words, phrases) joined into one."""
    engine = offline_rapidocr(threads, DET_BAND)

    def find(bands: list[np.ndarray]) -> list[list[Box]]:
        found = []
        for band in bands:
            corners = getattr(engine(band), "boxes", None)
            boxes = [[float(c[:, 0].min()), float(c[:, 1].min()), float(c[:, 0].max()), float(c[:, 1].max())]
                     for c in np.asarray([] if corners is None else corners, np.float32)]
            found.append(sorted((tuple(round(v) for v in box) for box in join_same_line(boxes)), key=lambda b: b[1]))
        return found
    return find


def methods(model: Path, threads: int) -> dict[str, Finder | None]:
    learned = load_line_finder(model, threads).find_lines if model.is_dir() else None
    return {
        "classical reading.lines.find_text_lines": classical,
        "PP-OCRv6 det as shipped (rapidocr, band, max side 960)": pretrained_det(threads),
        f"PP-OCRv6 det fine-tuned ({model})": learned,
    }


def bands_and_lines(split: Path, limit: int | None) -> tuple[list[np.ndarray], list[list[Box]], list[np.ndarray]]:
    """Each frame's band, its lines in band pixels, and the frame itself."""
    bands, lines, frames = [], [], []
    for index, sample in enumerate(read_split(split)):
        if limit is not None and index >= limit:
            break
        frame = decode_frame(sample.jpeg)
        meta = sample.meta
        if "line_boxes" not in meta:
            meta = {**meta, "line_boxes": [meta["text_box"]] if meta.get("text_box") else []}
        bands.append(crop_band(frame, DEFAULT_BAND))
        lines.append(band_lines(meta, frame.shape, DEFAULT_BAND))
        frames.append(frame)
    return bands, lines, frames


def timed(find: Finder, bands: list[np.ndarray]) -> tuple[list[list[Box]], float]:
    """Boxes of every band, found BATCH at a time, and the milliseconds per band (after one warm-up batch)."""
    find(bands[:BATCH])
    start = time.perf_counter()
    found = [boxes for i in range(0, len(bands), BATCH) for boxes in find(bands[i:i + BATCH])]
    return found, 1000 * (time.perf_counter() - start) / max(1, len(bands))


def evaluate(split: Path, model: Path, limit: int | None, threads: int) -> dict:
    bands, truth, frames = bands_and_lines(split, limit)
    bands_720p = [crop_band(cv2.resize(frame, (1280, 720)), DEFAULT_BAND) for frame in frames[:SPEED_BANDS]]
    figures = {}
    for name, find in methods(model, threads).items():
        if find is None:
            figures[name] = None
            continue
        found, ms = timed(find, bands)
        figures[name] = {**line_scores(found, truth), "ms_per_band": round(ms, 1),
                         "ms_per_720p_band": round(timed(find, bands_720p)[1], 1)}
    return {"frames": len(bands), **{"methods": figures}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, default=SYNTH_UNSEEN)
    parser.add_argument("--model", type=Path, default=LINE_FINDER_DIR, help="the learned finder's folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N frames")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    result = evaluate(args.split, args.model, args.limit, args.threads)
    print(f"{result['frames']} frames of {args.split}, {args.threads} threads")
    columns = ("share_found", "mean_iou", "share_empty_with_lines", "ms_per_band", "ms_per_720p_band")
    width = max(len(name) for name in result["methods"])
    print(f"{'method':<{width}} {'IoU>=0.7':>8} {'mean IoU':>8} {'empty FP':>8} {'ms/band':>8} {'ms/720p':>8}")
    for name, figure in result["methods"].items():
        cells = ["not measured"] if figure is None else [
            f"{'n/a':>8}" if figure[c] is None else f"{figure[c]:8.1f}" if c.startswith("ms") else f"{figure[c]:8.3f}"
            for c in columns]
        print(f"{name:<{width}} {' '.join(cells)}")
    write_results("line_finder", {"split": str(args.split), "threads": args.threads, **result})


if __name__ == "__main__":
    main()
