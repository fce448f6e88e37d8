"""A small fine-tuning run in its own process, so that a test can kill it with SIGKILL and run it again.

Usage: python tests/finetune_job.py WORKDIR MAX_STEPS
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from test_ppocr_rec import DARK_GREY, WHITE, render_line

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.training.finetune_ctc import train
from zhtw_subtitles.training.line_data import LineCrop, LineDataset, collate
from zhtw_subtitles.training.trainer import FinetuneConfig

TEXTS = ["你說這話是什麼意思", "明天見", "謝謝你 再見", "我知道了", "這是一個國際學校", "今天天氣很好"]


def lines() -> list[LineCrop]:
    return [LineCrop(f"k{i}", np.asarray(render_line(t, WHITE, DARK_GREY, stroke_width=2))[:, :, ::-1].copy(), t)
            for i, t in enumerate(TEXTS)]


def main() -> None:
    workdir, max_steps = Path(sys.argv[1]), int(sys.argv[2])
    model = pretrained_ppocr_v6_small()
    config = default_config(FinetuneConfig, "finetune", max_steps=max_steps, batch_size=3, learning_rate=1e-4, eval_every=5,
                            eval_samples=3, checkpoint_every=5, logging_every=1)
    train_set = LineDataset(lines(), model.charset, augment=True, seed=0)
    val_set = LineDataset(lines()[:3], model.charset, augment=False, seed=0)
    trained = train(model, train_set, val_set, collate, config, 0, workdir / "checkpoints", workdir / "live", "same-settings")
    trained.save_pretrained(workdir / "model")


if __name__ == "__main__":
    main()
