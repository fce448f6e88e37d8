"""Files, bytes and seconds of `dvc push` and `dvc pull` of the default pipeline's outputs through a local
SeaweedFS S3 server, and the files DVC moves per 1,000 synthetic images. Target: <= 2 (shards, not images).

Clones the source checkout (its committed dvc.lock) and lends the clone the source's DVC cache, which must hold
those outputs (run `make repro` first; nothing is written to it); pushes the rendered frames (render_synth) and then the rest to a fresh
local SeaweedFS, then pulls them in the same two steps into a second clone with an empty cache.
Usage: python bench/dvc_remote.py [--source DIR] [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from results import shown, write_results

from zhtw_subtitles.remote.local_s3 import LocalS3
from zhtw_subtitles.testing.dvc_repo import REPO, DvcRepo, files_moved

STEPS = (("rendered frames", "render_synth"), ("everything else", None))


def bucket_bytes(server: LocalS3) -> int:
    return sum(item["Size"] for item in server.objects())


def timed(repo: DvcRepo, *args: str) -> tuple[str, float]:
    start = time.perf_counter()
    output = repo.run(*args).stdout
    return output, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO, help="a checkout whose DVC cache holds the outputs")
    parser.add_argument("--cache", type=Path, help="that cache, if not SOURCE/.dvc/cache")
    args = parser.parse_args()
    cache = (args.cache or args.source / ".dvc/cache").resolve()
    rows = []  # (command, outputs, files, bytes, seconds)
    with tempfile.TemporaryDirectory() as tmp, LocalS3(Path(tmp) / "s3") as server:
        first = DvcRepo.clone(args.source.resolve(), Path(tmp) / "first")
        first.run("dvc", "cache", "dir", "--local", str(cache))  # push only reads the cache
        first.use_remote(server)
        pushed_bytes = {}
        for label, target in STEPS:
            before = bucket_bytes(server)
            output, seconds = timed(first, "dvc", "push", *filter(None, [target]))
            pushed_bytes[label] = bucket_bytes(server) - before
            rows.append(("push", label, files_moved(output, "pushed"), pushed_bytes[label], seconds))
        second = DvcRepo.clone(args.source.resolve(), Path(tmp) / "second")
        second.use_remote(server)
        for label, target in STEPS:
            output, seconds = timed(second, "dvc", "pull", *filter(None, [target]))
            rows.append(("pull", label, files_moved(output, "fetched"), pushed_bytes[label], seconds))
        render = json.loads((first.root / "metrics/render.json").read_text())
    images = render["train"]["images"] + render["test"]["images"]
    print(f"{images} synthetic images (metrics/render.json); local SeaweedFS S3 on 127.0.0.1")
    print(f"{'':5s} {'outputs':16s} {'files':>6s} {'MB':>8s} {'seconds':>8s} {'MB/s':>7s}")
    for command, label, files, size, seconds in rows:
        print(f"{command:5s} {label:16s} {shown(files)!s:>6} {size / 1e6:8.1f} {seconds:8.1f} {size / 1e6 / seconds:7.1f}")
    # files_moved is None where DVC's summary line is missing: no measurement, which must not read as 0 files.
    per_1000 = {command: None if files is None else round(files / images * 1000, 2)
                for command, label, files, _, _ in rows if label == STEPS[0][0]}
    for command, figure in per_1000.items():
        print(f"{command}: files per 1,000 synthetic images: {shown(figure)} (target <= 2)")
    write_results("dvc_remote", {
        "synthetic_images": images,
        "moves": [{"command": command, "outputs": label, "files": files, "mb": round(size / 1e6, 1),
                   "seconds": round(seconds, 1)} for command, label, files, size, seconds in rows],
        "rendered_frame_files_per_1000_images": per_1000,
        "target_files_per_1000_images": 2,
    })


if __name__ == "__main__":
    main()
