"""Batched reading of frames: shards and folders, undecodable frames, the competition's CSV."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_ppocr_rec import DARK_GREY, WHITE, render_line

from zhtw_subtitles.dataset.frames import Frame, folder_frames
from zhtw_subtitles.dataset.predictions_csv import (
    read_csv_predictions,
    write_csv_predictions,
)
from zhtw_subtitles.models.registry import load_for_inference
from zhtw_subtitles.reading.inference import read_frames


def frame_with_subtitle(text: str) -> np.ndarray:
    """A 1280x720 BGR frame with `text` as a white, black-outlined subtitle at the bottom centre."""
    frame = Image.new("RGB", (1280, 720), (60, 90, 120))
    line = render_line(text, WHITE, DARK_GREY, stroke_width=2, font_size=56)
    frame.paste(line, ((1280 - line.width) // 2, 720 - 2 * line.height))
    return np.asarray(frame)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def reader():
    return load_for_inference("ppocr_v6_small")


def test_reads_frames_in_order_and_predicts_empty_for_unreadable_ones(reader):
    texts = ["你說這話是什麼意思", "明天見", "我知道了", "今天天氣很好"]
    frames = [Frame(f"f{i}", frame_with_subtitle(t)) for i, t in enumerate(texts)]
    frames.insert(2, Frame("broken", None))
    ids, predictions, unreadable = read_frames(reader, frames, (0.0, 0.65, 1.0, 1.0), batch_size=2)
    assert ids == ["f0", "f1", "broken", "f2", "f3"]
    assert unreadable == ["broken"]
    assert predictions == [texts[0], texts[1], "", texts[2], texts[3]]


def test_folder_frames_use_file_stems_and_report_corrupt_files(reader, tmp_path):
    Image.fromarray(frame_with_subtitle("明天見")[:, :, ::-1]).save(tmp_path / "0001.jpg")
    (tmp_path / "0002.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    ids, predictions, unreadable = read_frames(reader, folder_frames(tmp_path), (0.0, 0.65, 1.0, 1.0), batch_size=8)
    assert ids == ["0001", "0002"] and unreadable == ["0002"] and predictions == ["明天見", ""]
    write_csv_predictions(tmp_path / "submission.csv", ids, predictions)
    assert (tmp_path / "submission.csv").read_text(encoding="utf-8") == "id,text\n0001,明天見\n0002,\n"
    assert read_csv_predictions(tmp_path / "submission.csv") == {"0001": "明天見", "0002": ""}
