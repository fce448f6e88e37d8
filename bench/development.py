"""A development split for choosing between changes, so that the test splits never are: the default reader's CER
and the line finder's misses on frames drawn afresh in the seen fonts and backgrounds, from lines no training frame
draws.

Three sets, each rendered with a seed of its own into a temporary folder: the validation subtitles of
data/llava/val.json (held out of fine-tuning by text; rare characters among them) and training-split lines of
data/sentences/train.txt that none of data/synth/train's frames draws, both in the seen style mix; and the
validation subtitles again in the unseen split's style and layout mix (more boxes, shadows, two-line cues and
letterboxes) but the seen fonts and backgrounds, so that the unseen split's faces and pictures stay untouched.
Needs `dvc repro` first (models, sentences, llava JSON).
Usage: python bench/development.py [--frames 1000] [--model models/recognizer]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from results import write_results

from zhtw_subtitles.core.config import build, default_params, parse_crop
from zhtw_subtitles.core.io import read_lines
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, LLAVA, SENTENCES, SYNTH_TRAIN
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.llava_json import read_conversations
from zhtw_subtitles.dataset.shards import read_manifest, read_split
from zhtw_subtitles.models.registry import load_for_inference, load_line_finder
from zhtw_subtitles.reading.band import band_bounds
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.scoring.metrics import score
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.sources import load_backgrounds
from zhtw_subtitles.training.finetune_line_finder import band_lines, line_scores

SEEDS = {"validation_lines": 777, "undrawn_train_lines": 778, "validation_lines_unseen_mix": 779}


def development_sets(seen: RenderConfig) -> dict[str, tuple[list[str], RenderConfig]]:
    validation = [answer.replace("\n", "") for _, answer in read_conversations(LLAVA / "val.json").values() if answer]
    validation = list(dict.fromkeys(validation))
    drawn = {row["text"].replace("\n", "") for row in read_manifest(SYNTH_TRAIN)}
    undrawn = [line for line in read_lines(SENTENCES / "train.txt") if line not in drawn]
    unseen_mix = dataclasses.replace(seen, styles=seen.unseen.styles, layout=seen.unseen.layout)
    return {"validation_lines": (validation, seen), "undrawn_train_lines": (undrawn[len(undrawn) // 2:], seen),
            "validation_lines_unseen_mix": (validation, unseen_mix)}


def measure(folder: Path, model, finder, params: dict) -> dict:
    crop = parse_crop(params["crop"])
    truths = {row["key"]: row["text"] for row in read_manifest(folder)}
    frames = list(shard_frames(folder))
    ids, texts, _ = read_frames(model, frames, crop, params["infer"]["batch_size"], line_finder=finder,
                                min_confidence=params["infer"]["min_confidence"])
    reading = score([truths[key] for key in ids], texts)
    meta = {sample.key: sample.meta for sample in read_split(folder)}
    bands, lines = [], []
    for frame in frames:  # decoded once, for reading and for the finder
        x0, y0, x1, y1 = band_bounds(frame.pixels.shape[0], frame.pixels.shape[1], crop)
        bands.append(frame.pixels[y0:y1, x0:x1])
        lines.append(band_lines(meta[frame.id], frame.pixels.shape, crop))
    found = line_scores(finder.find_lines(bands), lines)
    missed = int(round(found["lines"] * (1 - found["share_found"])))
    return {"frames": len(frames), "cer": reading["cer"], "edits": round(reading["mean_edit_distance"] * len(frames)),
            "exact_match": reading["exact_match"],
            "lines": found["lines"], "lines_missed": missed, "line_share_found": found["share_found"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per set")
    parser.add_argument("--model", default="models/recognizer")
    parser.add_argument("--line-finder", default=str(LINE_FINDER_DIR))
    args = parser.parse_args()
    params = default_params()
    # One rendering process: forked workers hang in a process whose onnxruntime threads already run.
    config = dataclasses.replace(build(RenderConfig, params["render"], "render"), workers=1)
    faces = resolve_fonts(config.fonts, config.font_dir)
    backgrounds, _ = load_backgrounds(config, params["seed"])
    model, finder = load_for_inference(args.model), load_line_finder(args.line_finder)
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, (lines, looks) in development_sets(config).items():
            folder = Path(scratch) / name
            folder.mkdir()
            render_split("test", lines, args.frames, faces, backgrounds, looks, SEEDS[name], folder)
            figures[name] = measure(folder, model, finder, params)
            print(name, figures[name])
    print(f"edits {sum(f['edits'] for f in figures.values())}, mean CER {np.mean([f['cer'] for f in figures.values()]):.5f}, "
          f"lines missed {sum(f['lines_missed'] for f in figures.values())} of {sum(f['lines'] for f in figures.values())}")
    write_results("development", {"model": args.model, "line_finder": args.line_finder, "frames_per_set": args.frames,
                                  "seeds": SEEDS, **figures})


if __name__ == "__main__":
    main()
