"""Issue 11's targets in one run: the fine-tuned default (learned line finder + recogniser) against the peer's full
rapidocr pipeline, on the seen test split and on the unseen-style split (fonts, backgrounds and a style mix that
training never saw), then both readers' frames/s on the 1280x720 frames of both splits.

Targets: unseen normalised CER <= 0.5x the peer's; false readings on frames without a subtitle <= 1%; missed
subtitles <= 1%; seen CER <= 0.001; frames/s >= 10x the peer's at 720p.
The seen test split now holds every style, two-line cues and empty frames; the 0.001 was measured before them, on
frames drawn the study's way (one white outlined line in a 16:9 frame, on the 14 photographs, in the two Noto faces).
So the fine-tuned reader is also scored on the test lines drawn that way (`classic`, rendered here), like for like.
Usage: python bench/generalisation.py [--model models/recognizer] [--line-finder models/line_finder] [--limit N]
"""
from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from results import write_results

from zhtw_subtitles.core.config import build, default_params, parse_crop
from zhtw_subtitles.core.io import read_lines
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, MODEL_DIR, SENTENCES
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.predictions_csv import TEST_SPLITS
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.models.registry import load_for_inference, load_line_finder
from zhtw_subtitles.reading.band import usable_band
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.peer import RapidOcrPeer
from zhtw_subtitles.reading.whole_frames import read_frames_one_by_one
from zhtw_subtitles.scoring.metrics import score
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig, classic_looks
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.sources import load_backgrounds

SPEED_SIZE = (720, 1280)  # height, width
CLASSIC_FONTS = ["noto_sans_tc", "noto_serif_tc"]  # the faces and the photographs of the frames the 0.001 came from
TARGETS = {"unseen_cer_normalised_vs_peer": 0.5, "false_readings": 0.01, "missed": 0.01, "seen_cer": 0.001,
           "classic_cer": 0.001, "speed_up_at_720p": 10}


def timed(read, frames) -> tuple[list[str], float]:
    start = time.perf_counter()
    _, texts, _ = read(frames)
    return texts, time.perf_counter() - start


def classic_split(params: dict, count: int, folder: Path) -> Path:
    """The test lines drawn as before issue 11 (render.styles and render.layout switched to the classic look), into
    `folder`. In this process, whose onnxruntime and torch threads are running: render_split's forked workers would
    inherit their held locks and hang, so one process draws."""
    config = classic_looks(build(RenderConfig, {**params["render"], "workers": 1, "fonts": CLASSIC_FONTS,
                                                "embedded_videos": [], "use_embedded_backgrounds": True}, "render"))
    backgrounds, _ = load_backgrounds(config, params["seed"])
    render_split("test", read_lines(SENTENCES / "test.txt"), count, resolve_fonts(config.fonts, config.font_dir),
                 backgrounds, config, params["seed"], folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(MODEL_DIR))
    parser.add_argument("--line-finder", default=str(LINE_FINDER_DIR))
    parser.add_argument("--limit", type=int, default=None, help="read at most this many frames of each split")
    args = parser.parse_args()
    params = default_params()
    crop, batch_size = parse_crop(params["crop"]), params["infer"]["batch_size"]
    min_confidence = params["infer"]["min_confidence"]
    model, finder = load_for_inference(args.model), load_line_finder(args.line_finder)
    peer = RapidOcrPeer(crop)

    def ours(frames):
        return read_frames(model, frames, crop, batch_size, line_finder=finder, min_confidence=min_confidence)

    def theirs(frames):
        return read_frames_one_by_one(peer.read, frames, crop)

    warm = list(itertools.islice(shard_frames(TEST_SPLITS["test"]), 8))
    ours(warm), theirs(warm[:1])  # onnxruntime and torch plan on their first runs
    scores = {}
    for split, folder in TEST_SPLITS.items():
        truths = [row["text"] for row in read_manifest(folder)][:args.limit]
        frames = list(itertools.islice(shard_frames(folder), len(truths)))
        scores[split] = {name: score(truths, timed(read, frames)[0]) for name, read in (("finetuned", ours), ("peer", theirs))}
        for name, figures in scores[split].items():
            print(f"{split:7s} {name:9s} CER {figures['cer']:.4f}  normalised {figures['cer_normalised']:.4f}  "
                  f"false readings {figures['false_readings']}  missed {figures['missed']}  n {figures['n']}")

    speed_frames = [f for folder in TEST_SPLITS.values() for f in itertools.islice(shard_frames(folder), args.limit)
                    if f.pixels is not None and f.pixels.shape[:2] == SPEED_SIZE]
    if speed_frames:
        our_fps = len(speed_frames) / timed(ours, speed_frames)[1]
        peer_fps = len(speed_frames) / timed(theirs, speed_frames)[1]
        bands = [usable_band(frame.pixels, crop) for frame in speed_frames]
        start = time.perf_counter()
        finder.find_lines(bands)
        finder_ms = 1000 * (time.perf_counter() - start) / len(bands)  # of our time a frame: the rest reads the lines
    else:
        our_fps = peer_fps = finder_ms = None
    with tempfile.TemporaryDirectory() as scratch:
        folder = classic_split(params, args.limit or params["render"]["num_test_images"], Path(scratch))
        truths = [row["text"] for row in read_manifest(folder)]
        classic = score(truths, timed(ours, list(shard_frames(folder)))[0])
    print(f"classic finetuned CER {classic['cer']:.4f}  n {classic['n']}  (the test lines drawn as before issue 11)")
    unseen, seen = scores["unseen"], scores["test"]
    figures = {
        "seen": seen, "unseen": unseen, "classic_finetuned": classic,
        "unseen_cer_normalised_vs_peer": round(unseen["finetuned"]["cer_normalised"] / unseen["peer"]["cer_normalised"], 3)
        if unseen["peer"]["cer_normalised"] else None,
        "frames_720p": len(speed_frames),
        "finetuned_frames_per_s_720p": round(our_fps, 2) if our_fps else None,
        "peer_frames_per_s_720p": round(peer_fps, 2) if peer_fps else None,
        "speed_up_at_720p": round(our_fps / peer_fps, 1) if our_fps and peer_fps else None,
        "line_finder_ms_per_frame_720p": round(finder_ms, 1) if finder_ms else None,
        "model": args.model, "line_finder": args.line_finder, "targets": TARGETS,
    }
    checks = {
        "unseen_cer_normalised_vs_peer": figures["unseen_cer_normalised_vs_peer"],
        "false_readings": unseen["finetuned"]["false_readings"],
        "missed": unseen["finetuned"]["missed"],
        "seen_cer": seen["finetuned"]["cer"],
        "classic_cer": classic["cer"],
        "speed_up_at_720p": figures["speed_up_at_720p"],
    }
    figures["met"] = {}
    for name, value in checks.items():
        if value is None:
            figures["met"][name] = None
            print(f"{name}: not measured")
            continue
        met = value >= TARGETS[name] if name == "speed_up_at_720p" else value <= TARGETS[name]
        figures["met"][name] = met
        print(f"{name}: {value} (target {'>=' if name == 'speed_up_at_720p' else '<='} {TARGETS[name]}): "
              f"{'met' if met else 'NOT met'}")
    if our_fps:
        print(f"720p: {len(speed_frames)} frames, ours {our_fps:.2f} frames/s ({1000 / our_fps:.1f} ms a frame, "
              f"{finder_ms:.1f} of them finding the lines), the peer {peer_fps:.2f} frames/s ({1000 / peer_fps:.0f} ms)")
    write_results("generalisation", figures)


if __name__ == "__main__":
    main()
