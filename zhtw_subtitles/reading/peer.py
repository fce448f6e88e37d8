"""The off-the-shelf peer: rapidocr 3.10.0's whole pipeline (PP-OCRv6 small detection and recognition, PP-OCR
mobile direction classifier, all on onnxruntime) reading the subtitle of a frame.

Only the model files inside the rapidocr wheel are used: every stage gets an explicit `model_path`, so rapidocr
never looks up its download table. Its logger is set to errors only; it would otherwise warn on every frame
without text.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import rapidocr
from rapidocr import EngineType, RapidOCR

from zhtw_subtitles.reading.band import DEFAULT_BAND, Crop, band_bounds

MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}


def rapidocr_models_dir() -> Path:
    return Path(rapidocr.__file__).parent / "models"


def offline_rapidocr(threads: int = 2, params: dict[str, Any] | None = None) -> RapidOCR:
    """A `rapidocr.RapidOCR` on onnxruntime that reads its wheel's models and logs errors only.

    `params` overrides rapidocr's config keys, e.g. {"Global.use_rec": False, "Det.unclip_ratio": 1.2}.
    rapidocr ignores a thread count outside 1..cpu_count and then uses every core.
    """
    folder = rapidocr_models_dir()
    missing = [name for name in MODEL_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {missing}: reinstall rapidocr==3.10.0, whose wheel ships them")
    config: dict[str, Any] = {
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    for stage, name in MODEL_FILES.items():
        config[f"{stage}.engine_type"] = EngineType.ONNXRUNTIME
        config[f"{stage}.model_path"] = str(folder / name)
    return RapidOCR(params={**config, **(params or {})})


class RapidOcrPeer:
    """Reads the subtitle of whole frames: the texts of the boxes whose centre lies in `crop`, row by row top to
    bottom, each row left to right; rows are joined by "\n"."""

    def __init__(self, crop: Crop | None = DEFAULT_BAND, threads: int = 2, params: dict[str, Any] | None = None):
        self.crop = crop
        self.engine = offline_rapidocr(threads, params)

    def read(self, frame: np.ndarray) -> str:
        """The subtitle of one BGR uint8 frame; "" when nothing is read in the band."""
        result = self.engine(frame)
        boxes, texts = getattr(result, "boxes", None), getattr(result, "txts", None)
        if boxes is None or texts is None or len(texts) == 0:
            return ""
        x0, y0, x1, y1 = band_bounds(frame.shape[0], frame.shape[1], self.crop)
        corners = np.asarray(boxes, dtype=np.float32)  # n x 4 corners x (x, y)
        centres = corners.mean(axis=1)
        in_band = [i for i, (x, y) in enumerate(centres) if x0 <= x < x1 and y0 <= y < y1 and texts[i].strip()]
        rows = text_rows(corners[in_band])
        return "\n".join("".join(texts[in_band[i]] for i in row) for row in rows)

    def read_frames(self, frames: Iterable[np.ndarray]) -> list[str]:
        return [self.read(frame) for frame in frames]

    def frames_per_second(self, frames: list[np.ndarray], warmup: int = 1) -> float:
        """Throughput on `frames` after `warmup` untimed reads (onnxruntime's first runs allocate and plan)."""
        if not frames:
            raise ValueError("frames_per_second needs at least one frame")
        for frame in frames[:warmup]:
            self.read(frame)
        start = time.perf_counter()
        self.read_frames(frames)
        return len(frames) / (time.perf_counter() - start)


def text_rows(corners: np.ndarray) -> list[list[int]]:
    """Indices of text boxes (n x 4 corners x (x, y)) grouped into rows, top to bottom, each row left to right: a box
    belongs to a row when its vertical middle lies between the top and bottom of the row's first box."""
    tops, bottoms = corners[:, :, 1].min(axis=1), corners[:, :, 1].max(axis=1)
    rows: list[tuple[float, float, list[int]]] = []
    for i in sorted(range(len(corners)), key=lambda i: tops[i] + bottoms[i]):
        middle = (tops[i] + bottoms[i]) / 2
        if rows and rows[-1][0] <= middle <= rows[-1][1]:
            rows[-1][2].append(i)
        else:
            rows.append((tops[i], bottoms[i], [i]))
    return [sorted(row, key=lambda i: corners[i, :, 0].min()) for _, _, row in rows]
