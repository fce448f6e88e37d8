"""Seconds that `dvc status` takes on an up-to-date pipeline holding 100,000 rendered images.

Renders small frames (the file count, not the pixels, is what `dvc status` pays for) in a temporary copy of
the repository, runs `dvc repro`, then times `dvc status` a few times. Target: <= 3 s.
Usage: python bench/dvc_status.py [--images 100000]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from results import write_results

from zhtw_subtitles.testing.dvc_repo import DvcRepo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    args = parser.parse_args()
    params = {"render": {"num_images": args.images, "num_test_images": 1000, "shard_size": 1000,
                         "frame_tiers": [[None, 256, 144, 10, 12]]}}
    with tempfile.TemporaryDirectory() as tmp:
        repo = DvcRepo.create(Path(tmp) / "repo", params)
        start = time.perf_counter()
        repo.run("dvc", "repro", timeout=None)  # 100,000 frames on a busy 2-core machine take more than 10 minutes
        repro_s = time.perf_counter() - start
        shards = len(list((repo.root / "data/synth/train").glob("shard-*.tar")))
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            output = repo.run("dvc", "status").stdout
            timings.append(time.perf_counter() - start)
        assert "up to date" in output, output
    print(f"images: {args.images} train + 1000 test in {shards} train + 1 test shards; dvc repro took {repro_s:.0f} s")
    print(f"dvc status on the up-to-date pipeline: median {statistics.median(timings):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in timings)}; target <= 3 s)")
    write_results("dvc_status", {
        "train_images": args.images, "test_images": 1000, "train_shards": shards, "dvc_repro_s": round(repro_s),
        "dvc_status_median_s": round(statistics.median(timings), 2), "dvc_status_runs_s": [round(t, 2) for t in timings],
        "target_s": 3,
    })


if __name__ == "__main__":
    main()
