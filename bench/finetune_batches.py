"""Seconds per training step of the built-in recogniser with batches grouped by width (`finetune.group_by_width`)
against random batches, on the same training lines in the same run: the transformers Trainer's own training loop
(forward, CTC loss, backward, AdamW), the steps alternating between the two so that a change in the machine's
speed hits both alike. Needs data/synth/train (dvc repro render_synth).
Usage: python bench/finetune_batches.py [--frames 600] [--steps 40] [--rounds 2]
"""
from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
from results import write_results
from transformers import Trainer, TrainerCallback

from zhtw_subtitles.core.config import build, default_params, parse_crop
from zhtw_subtitles.core.paths import SYNTH_TRAIN
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.training.finetune_ctc import WidthGroupedTrainer
from zhtw_subtitles.training.line_data import LineDataset, collate, frame_lines
from zhtw_subtitles.training.trainer import FinetuneConfig, training_arguments, use_all_cores


class StepClock(TrainerCallback):
    """Wall time of every optimizer step after the first (which allocates)."""

    def __init__(self):
        self.seconds: list[float] = []
        self.started = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step > 1:
            self.seconds.append(time.perf_counter() - self.started)


def seconds_per_step(trainer_class, dataset, config: FinetuneConfig, steps: int, seed: int) -> float:
    model = pretrained_ppocr_v6_small()
    model.add_characters([c for line in dataset.lines for c in line.text])
    model.net.backbone.requires_grad_(config.train_backbone)
    clock = StepClock()
    with tempfile.TemporaryDirectory() as scratch:
        args = training_arguments(config, seed, Path(scratch), evaluate_by_trainer=False)
        args.eval_strategy, args.save_strategy, args.logging_strategy = "no", "no", "no"
        args.max_steps, args.disable_tqdm = steps, True
        trainer_class(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[clock]).train()
    return float(np.mean(clock.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    params = default_params()
    config = build(FinetuneConfig, params["finetune"], "finetune")
    crop = parse_crop(params["crop"])
    use_all_cores()
    samples = itertools.islice(read_split(SYNTH_TRAIN), args.frames)
    lines = [line for sample in samples for line in frame_lines(sample, crop)]
    dataset = LineDataset(lines, pretrained_ppocr_v6_small().charset, config.augment, params["seed"])
    timings: dict[str, list[float]] = {"random": [], "grouped": []}
    for _ in range(args.rounds):
        for name, trainer_class in (("random", Trainer), ("grouped", WidthGroupedTrainer)):
            timings[name].append(seconds_per_step(trainer_class, dataset, config, args.steps, params["seed"]))
            print(f"{name:8s} {timings[name][-1]:.3f} s/step")
    random, grouped = (float(np.median(timings[name])) for name in ("random", "grouped"))
    widths = np.array(dataset.input_widths)
    print(f"{len(dataset)} lines of {args.frames} frames, batch {config.batch_size}, {args.steps} steps x {args.rounds}")
    print(f"random batches: {random:.3f} s/step, grouped by width: {grouped:.3f} s/step, {random / grouped:.2f}x faster")
    write_results("finetune_batches", {
        "frames": args.frames, "lines": len(dataset), "batch_size": config.batch_size, "steps": args.steps,
        "rounds": args.rounds, "median_input_width": int(np.median(widths)), "max_input_width": int(widths.max()),
        "random_s_per_step": round(random, 3), "grouped_s_per_step": round(grouped, 3),
        "speed_up": round(random / grouped, 2), "timings": {k: [round(v, 3) for v in vs] for k, vs in timings.items()},
    })


if __name__ == "__main__":
    main()
