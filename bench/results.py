"""What a bench measured, written to bench/results/<bench>.json so that every figure the docs quote comes from a
file and the command that wrote it. Benches run as `python bench/<name>.py`, so they import this as `results`.

A figure the bench could not measure is None in the bench and "not measured" in the file, never 0.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

from zhtw_subtitles.core.io import write_metrics

RESULTS = Path(__file__).resolve().parent / "results"
NOT_MEASURED = "not measured"


def shown(value):
    """A figure as the file holds it: None (nested too) becomes "not measured"."""
    if value is None:
        return NOT_MEASURED
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown(item) for item in value]
    return value


def commit() -> str:
    """The checkout's commit, with "+changes" when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=RESULTS.parent, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_results(bench: str, figures: dict) -> Path:
    """Write `figures` with the command, date, commit, cores and load of the machine to bench/results/<bench>.json."""
    path = RESULTS / f"{bench}.json"
    write_metrics(path, {
        "command": " ".join(["python", f"bench/{bench}.py", *sys.argv[1:]]),
        "measured": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit(),
        "machine_cores": os.cpu_count(),
        "load_average_1_5_15_min": [round(load, 2) for load in os.getloadavg()],
        "figures": shown(figures),
    })
    print(f"wrote {path.relative_to(RESULTS.parent.parent)}")
    return path
