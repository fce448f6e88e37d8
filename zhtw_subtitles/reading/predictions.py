"""A model's predictions on the test frames, `<folder>/test.csv` (id,text), and how fast it read them.

The timing goes to a metrics file outside the cached folder: a re-run with the same model and frames then gives
byte-identical predictions, and DVC sees nothing changed."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from zhtw_subtitles.dataset.predictions_csv import write_csv_predictions

Reading = tuple[list[str], list[str], list[str]]  # ids, texts, ids of unreadable frames


def save_timed_predictions(folder: Path, read: Callable[[], Reading]) -> dict:
    """Run `read`, write its predictions into `folder` and return how fast it read (for a metrics file that the
    stage writes once its outputs are in place); unreadable frames are reported."""
    start = time.perf_counter()
    ids, texts, unreadable = read()
    seconds = time.perf_counter() - start
    for frame_id in unreadable:
        print(f"unreadable frame, predicted as empty: {frame_id}")
    write_csv_predictions(folder / "test.csv", ids, texts)
    return {"frames": len(ids), "unreadable_frames": len(unreadable),
            "seconds": round(seconds, 3), "frames_per_s": round(len(ids) / seconds, 3) if seconds else None}
