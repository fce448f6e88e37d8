"""Wall time of every stage of the default pipeline, run from scratch in a fresh temporary copy of the repo
(what `make repro` costs on a new machine once .venv exists). Target: the whole run <= 15 minutes on 2 cores.
Usage: python bench/pipeline.py
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml
from results import write_results

from zhtw_subtitles.core.config import default_params
from zhtw_subtitles.testing.dvc_repo import REPO, TINY_PARAMS, DvcRepo


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help, and no stray arguments
    defaults = default_params()
    stages = list(yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"])
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Every section the tests' tiny pipeline shrinks goes back to params.yaml's defaults.
        repo = DvcRepo.create(Path(tmp) / "repo", {key: defaults[key] for key in TINY_PARAMS})
        for stage in stages:
            start = time.perf_counter()
            repo.run("dvc", "repro", "--single-item", stage, timeout=None)
            timings[stage] = time.perf_counter() - start
            print(f"{stage:18s} {timings[stage]:7.1f} s", flush=True)
        scores = (repo.root / "metrics/scores.json").read_text()
    total = sum(timings.values())
    print(f"{'total':18s} {total:7.1f} s = {total / 60:.1f} min (target <= 15 min)")
    print(scores)
    write_results("pipeline", {
        "stage_s": {stage: round(seconds, 1) for stage, seconds in timings.items()},
        "total_s": round(total, 1), "target_s": 15 * 60, "scores": json.loads(scores),
    })


if __name__ == "__main__":
    main()
