"""frames/s of `infer` (learned line finder + fine-tuned recogniser, on onnxruntime) against the peer's full rapidocr
pipeline (detection + recognition on the whole frame), on the same test frames in the same run. Target: >= 10x.
Usage: python bench/inference.py [--frames 100] [--model models/recognizer] [--line-finder models/line_finder]
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from results import write_results

from zhtw_subtitles.core.config import default_params, parse_crop
from zhtw_subtitles.core.paths import LINE_FINDER_DIR
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.models.registry import load_for_inference, load_line_finder
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.peer import RapidOcrPeer
from zhtw_subtitles.reading.whole_frames import read_frames_one_by_one


def frames_per_s(read, frames) -> float:
    start = time.perf_counter()
    ids, _, _ = read(frames)
    return len(ids) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--model", default="models/recognizer", help="a saved model folder or a built-in base name")
    parser.add_argument("--line-finder", default=str(LINE_FINDER_DIR))
    parser.add_argument("--test", default="data/synth/test")
    args = parser.parse_args()
    params = default_params()
    crop = parse_crop(params["crop"])
    frames = list(itertools.islice(shard_frames(Path(args.test)), args.frames))
    model, finder = load_for_inference(args.model), load_line_finder(args.line_finder)
    peer = RapidOcrPeer(crop)
    batch_size, min_confidence = params["infer"]["batch_size"], params["infer"]["min_confidence"]

    def ours_read(fs):
        return read_frames(model, fs, crop, batch_size, line_finder=finder, min_confidence=min_confidence)

    ours_read(frames[:8])  # warm-up: onnxruntime plans on its first runs
    peer.read(frames[0].pixels)
    ours = frames_per_s(ours_read, frames)
    theirs = frames_per_s(lambda fs: read_frames_one_by_one(peer.read, fs, crop), frames)
    sizes = sorted({f"{f.pixels.shape[1]}x{f.pixels.shape[0]}" for f in frames})
    print(f"frames: {len(frames)} ({', '.join(sizes)}), model: {args.model}")
    print(f"peer (rapidocr det + rec, whole frame): {theirs:7.2f} frames/s")
    print(f"infer (band + line finder + recogniser): {ours:7.2f} frames/s")
    print(f"speed-up: {ours / theirs:.1f}x (target >= 10x)")
    write_results("inference", {
        "frames": len(frames), "frame_sizes": sizes, "model": args.model, "line_finder": args.line_finder,
        "batch_size": batch_size,
        "peer_frames_per_s": round(theirs, 2), "infer_frames_per_s": round(ours, 2),
        "speed_up": round(ours / theirs, 1), "target_speed_up": 10,
    })


if __name__ == "__main__":
    main()
