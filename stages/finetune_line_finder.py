"""Stage finetune_line_finder: data/synth/train -> models/line_finder (the learned subtitle-line finder),
metrics/line_finder.json (its line recall, IoU and false alarms on held-out train frames, measured with the model
inference runs: int8 by default) and DVCLive curves.

PP-OCRv6 small det learns, from the renderer's exact line boxes, to mark only subtitle lines (docs/line_finder.md).
"""
import time
from pathlib import Path

import torch

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, SYNTH_TRAIN
from zhtw_subtitles.models.line_detector import LineFinder
from zhtw_subtitles.training.finetune_line_finder import (
    LineFinderConfig,
    measure,
    read_bands,
    split_frames,
    train_line_finder,
)
from zhtw_subtitles.training.line_finder_export import export_line_finder

METRICS = Path("metrics/line_finder.json")
LIVE_DIR = Path("metrics/line_finder")


def main() -> None:
    params = stage_params("finetune_line_finder")
    config = build(LineFinderConfig, params["line_finder"], "line_finder")
    crop = parse_crop(params["crop"])
    # Training steps on one thread: with two, torch's threads wait on each other whenever the other core is busy
    # (7-20x slower steps measured on the shared 2-core machine). The backbone's feature pass takes all cores.
    torch.set_num_threads(1)
    start = time.perf_counter()
    train_frames, val_frames = split_frames(SYNTH_TRAIN, config.train_frames, config.val_frames)
    model = train_line_finder(config, train_frames, crop, params["seed"], LIVE_DIR)
    seconds = time.perf_counter() - start
    calibration = list(read_bands(train_frames[:config.calibration_frames], crop))
    with atomic_dir(LINE_FINDER_DIR) as staging:
        settings, probabilities = export_line_finder(model, config.settings, config.int8, calibration, staging)
    scores = measure(LineFinder(probabilities, settings), list(read_bands(val_frames, crop)))
    write_metrics(METRICS, {"train_frames": len(train_frames), "training_seconds": round(seconds, 1),
                            "model": settings.onnx_file, "outsets": [settings.outset_vertical, settings.outset_horizontal],
                            "val": scores})


if __name__ == "__main__":
    run_stage(main)
