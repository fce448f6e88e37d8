"""Prediction files in the competition's submission form: UTF-8 CSV `id,text`, and the test splits every reader
predicts (data/predictions/<reader>/<split>.csv).

A two-line subtitle keeps its "\n" inside a quoted field; the competition's submission.csv writes its lines on one
line instead (`one_line`)."""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_file
from zhtw_subtitles.core.paths import SYNTH_TEST, SYNTH_UNSEEN

CSV_HEADER = ("id", "text")
# Frames drawn like the training frames, and frames in fonts, backgrounds and styles that training never saw.
TEST_SPLITS = {"test": SYNTH_TEST, "unseen": SYNTH_UNSEEN}


def one_line(texts: Sequence[str], separator: str) -> list[str]:
    """Each text's lines joined by `separator` (infer.csv_line_separator), as the competition's CSV wants them."""
    return [separator.join(text.split("\n")) for text in texts]


def write_csv_predictions(path: Path, ids: Sequence[str], texts: Sequence[str]) -> None:
    """Write the competition submission: UTF-8 CSV with header `id,text`, one row per image (id = file stem)."""
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts for {path}")
    repeated = sorted(str(image_id) for image_id, count in Counter(ids).items() if count > 1)
    if repeated:
        raise ValueError(f"ids repeat in the predictions for {path}: {repeated[:10]}")
    buffer = io.StringIO()
    rows = csv.writer(buffer, lineterminator="\n")
    rows.writerow(CSV_HEADER)
    rows.writerows(zip(ids, texts))
    with atomic_file(Path(path), "wb") as handle:
        handle.write(buffer.getvalue().encode("utf-8"))


def read_csv_predictions(path: Path) -> dict[str, str]:
    """`{id: text}` from a submission CSV; an empty field is the empty prediction."""
    # utf-8-sig: spreadsheet programs put a byte-order mark in front of the header.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or tuple(header) != CSV_HEADER:
            raise ValueError(f"{path}: the header must be exactly 'id,text', found {header!r}")
        predictions: dict[str, str] = {}
        for row in rows:
            if len(row) != 2:
                raise ValueError(f"{path} line {rows.line_num}: expected 2 fields (id,text), found {row!r}")
            image_id, text = row
            if image_id in predictions:
                raise ValueError(f"{path} line {rows.line_num}: id {image_id!r} repeats")
            predictions[image_id] = text
    return predictions
