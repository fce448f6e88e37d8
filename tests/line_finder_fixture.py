"""A small line finder trained once per test session (tests/conftest.py: trained_line_finder), and the frames it is
trained and tested on."""
from __future__ import annotations

from pathlib import Path

import torch

from zhtw_subtitles.core.config import default_config, default_params
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.reading.band import DEFAULT_BAND
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.training.finetune_line_finder import LineFinderConfig, read_bands, split_frames, train_line_finder
from zhtw_subtitles.training.line_finder_export import export_line_finder

TRAINING = {"input_height": 128, "shrink": 0.25, "threshold": 0.7, "min_score": 0.75, "min_height": 2,
            "val_frames": 0, "batch_size": 8, "learning_rate": 0.003, "logging_every": 20, "crop_width": 320,
            "calibration_frames": 16, "int8": False}
SENTENCES = ["我知道 但是不行", "這是一個國際學校", "你說這話是什麼意思", "明天見", "他們今天晚上不會回來吃飯了",
             "我們試試看", "你在幹什麼啊", "生日快樂", "這是什麼東西", "我不想再等了"]


def render_frames(folder: Path, count: int, seed: int, **layout) -> list:
    render = default_params()["render"]
    config = default_config(RenderConfig, "render", workers=1, shard_size=1000, layout={**render["layout"], **layout})
    backgrounds, _ = find_backgrounds(True, None)
    folder.mkdir()
    render_split("train", SENTENCES, count, list(embedded_fonts().values()), backgrounds, config, seed, folder)
    return list(read_split(folder))


def train_small_finder(root: Path):
    """A finder fine-tuned on 120 frames of the default style mix for 100 steps on 320-pixel crops (about 35 s on 2
    busy cores), saved into root/finder as the stage saves it (float32, outsets measured on 16 of its frames)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads wait on each other when the other core is busy
    frames = render_frames(root / "train", 120, seed=1)
    config = LineFinderConfig(**{**TRAINING, "train_frames": 120, "steps": 100, "train_backbone": False})
    train, _ = split_frames(root / "train", config.train_frames, config.val_frames)
    assert len(train) == len(frames)
    model = train_line_finder(config, train, DEFAULT_BAND, seed=0, live_dir=None)
    calibration = list(read_bands(train[:config.calibration_frames], DEFAULT_BAND))
    settings, _ = export_line_finder(model, config.settings, False, calibration, root / "finder", threads=2)
    torch.set_num_threads(threads)
    return model, root, settings, calibration
