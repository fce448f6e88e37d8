"""A reader's predictions on both test splits, `<folder>/{test,unseen}.csv` (id,text), and how fast it read them.

The timing goes to a metrics file outside the cached folder: a re-run with the same model and frames then gives
byte-identical predictions, and DVC sees nothing changed."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.dataset.frames import Frame, shard_frames
from zhtw_subtitles.dataset.predictions_csv import TEST_SPLITS, write_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest

Reading = tuple[list[str], list[str], list[str]]  # ids, texts, ids of unreadable frames


def test_split_sizes() -> dict[str, int]:
    """{split: frames} of every test split (TEST_SPLITS); an empty or missing split is a clear error."""
    sizes = {}
    for split, split_dir in TEST_SPLITS.items():
        sizes[split] = len(read_manifest(split_dir))
        if sizes[split] == 0:
            raise ConfigError(f"{split_dir} holds no frames: render some (params.yaml, render) with `dvc repro render_synth`")
    return sizes


def predict_test_splits(folder: Path, read: Callable[[Iterator[Frame], int], Reading], sizes: dict[str, int]) -> dict:
    """`read(frames, count)` each test split of `sizes` (from test_split_sizes) into `folder/<split>.csv`;
    {split: how fast it read}."""
    return {split: save_timed_predictions(Path(folder) / f"{split}.csv",
                                          lambda: read(shard_frames(TEST_SPLITS[split]), size))
            for split, size in sizes.items()}


def save_timed_predictions(path: Path, read: Callable[[], Reading]) -> dict:
    """Run `read`, write its predictions to `path` and return how fast it read (for a metrics file that the stage
    writes once its outputs are in place); unreadable frames are reported."""
    start = time.perf_counter()
    ids, texts, unreadable = read()
    seconds = time.perf_counter() - start
    for frame_id in unreadable:
        print(f"unreadable frame, predicted as empty: {frame_id}")
    write_csv_predictions(path, ids, texts)
    return {"frames": len(ids), "unreadable_frames": len(unreadable),
            "seconds": round(seconds, 3), "frames_per_s": round(len(ids) / seconds, 3) if seconds else None}
