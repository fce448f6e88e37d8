"""Bad frames never cost the others: each odd image in a folder is read or reported, and the rest are read."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from test_inference import frame_with_subtitle

from zhtw_subtitles.dataset.frames import Frame, as_bgr8, folder_frames
from zhtw_subtitles.models.registry import load_for_inference
from zhtw_subtitles.reading.inference import read_frames

BAND = (0.0, 0.65, 1.0, 1.0)
TEXT = "明天見"


@pytest.fixture(scope="module")
def reader():
    return load_for_inference("ppocr_v6_small")


def read_folder_with(reader, folder, name: str, write) -> tuple[dict[str, str], list[str]]:
    """Read `folder` holding two good frames and the odd one that `write(path)` saves as `name`."""
    cv2.imwrite(str(folder / "a_good.png"), frame_with_subtitle(TEXT))
    write(folder / name)
    cv2.imwrite(str(folder / "z_good.png"), frame_with_subtitle(TEXT))
    ids, texts, unreadable = read_frames(reader, folder_frames(folder), BAND, batch_size=4)
    assert ids == sorted(ids) and len(ids) == 3
    readings = dict(zip(ids, texts))
    assert readings["a_good"] == TEXT and readings["z_good"] == TEXT
    return readings, unreadable


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (640, 1), (1, 360)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_tiny_frame_is_reported_and_read_as_empty(reader, tmp_path, size):
    readings, unreadable = read_folder_with(
        reader, tmp_path, "odd.png", lambda path: Image.new("RGB", size, (200, 200, 200)).save(path))
    assert readings["odd"] == "" and unreadable == ["odd"]


def test_a_grey_scale_frame_is_read(reader, tmp_path):
    grey = cv2.cvtColor(frame_with_subtitle(TEXT), cv2.COLOR_BGR2GRAY)
    readings, unreadable = read_folder_with(reader, tmp_path, "odd.png", lambda path: cv2.imwrite(str(path), grey))
    assert readings["odd"] == TEXT and unreadable == []


def test_a_frame_with_alpha_is_read(reader, tmp_path):
    rgba = cv2.cvtColor(frame_with_subtitle(TEXT), cv2.COLOR_BGR2BGRA)
    readings, unreadable = read_folder_with(reader, tmp_path, "odd.png", lambda path: cv2.imwrite(str(path), rgba))
    assert readings["odd"] == TEXT and unreadable == []


def test_a_16_bit_frame_is_read(reader, tmp_path):
    deep = frame_with_subtitle(TEXT).astype(np.uint16) * 257
    readings, unreadable = read_folder_with(reader, tmp_path, "odd.png", lambda path: cv2.imwrite(str(path), deep))
    assert readings["odd"] == TEXT and unreadable == []


def test_a_huge_frame_is_read(reader, tmp_path):
    huge = cv2.resize(frame_with_subtitle(TEXT), (7680, 4320), interpolation=cv2.INTER_LINEAR)  # 8K
    readings, unreadable = read_folder_with(reader, tmp_path, "odd.png", lambda path: cv2.imwrite(str(path), huge))
    assert readings["odd"] == TEXT and unreadable == []


def test_an_empty_file_is_reported(reader, tmp_path):
    readings, unreadable = read_folder_with(reader, tmp_path, "odd.jpg", lambda path: path.write_bytes(b""))
    assert readings["odd"] == "" and unreadable == ["odd"]


def test_odd_arrays_handed_in_directly_are_read_or_reported(reader):
    frame = frame_with_subtitle(TEXT)
    frames = [
        Frame("grey", cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)),
        Frame("grey_with_channel_axis", cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[:, :, None]),
        Frame("alpha", cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)),
        Frame("float", frame.astype(np.float32) / 255),
        Frame("empty", np.zeros((0, 0, 3), np.uint8)),
        Frame("one_pixel", np.zeros((1, 1, 3), np.uint8)),
        Frame("five_channels", np.zeros((720, 1280, 5), np.uint8)),
        Frame("good", frame),
    ]
    ids, texts, unreadable = read_frames(reader, frames, BAND, batch_size=3)
    assert dict(zip(ids, texts)) == {"grey": TEXT, "grey_with_channel_axis": TEXT, "alpha": TEXT, "float": TEXT,
                                     "empty": "", "one_pixel": "", "five_channels": "", "good": TEXT}
    assert unreadable == ["empty", "one_pixel", "five_channels"]


def test_as_bgr8_keeps_a_bgr_frame_as_it_is():
    frame = frame_with_subtitle(TEXT)
    assert as_bgr8(frame) is frame
