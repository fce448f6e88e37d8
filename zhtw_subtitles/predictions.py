"""A model's predictions on the test frames: `<folder>/test.csv` (id,text) and `<folder>/speed.json`."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .io import write_metrics
from .scoring import write_csv_predictions

Reading = tuple[list[str], list[str], list[str]]  # ids, texts, ids of unreadable frames


def save_timed_predictions(folder: Path, read: Callable[[], Reading]) -> None:
    """Run `read` and write its predictions and frames/s into `folder`; unreadable frames are reported."""
    start = time.perf_counter()
    ids, texts, unreadable = read()
    seconds = time.perf_counter() - start
    for frame_id in unreadable:
        print(f"unreadable frame, predicted as empty: {frame_id}")
    write_csv_predictions(folder / "test.csv", ids, texts)
    write_metrics(folder / "speed.json", {
        "frames": len(ids), "unreadable_frames": len(unreadable),
        "seconds": round(seconds, 3), "frames_per_s": round(len(ids) / seconds, 3) if seconds else None,
    })
