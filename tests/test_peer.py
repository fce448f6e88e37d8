"""The rapidocr peer reads the bottom band of a frame, offline and quietly."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.reading.peer import RapidOcrPeer, text_rows
from zhtw_subtitles.synth.fonts import embedded_fonts

SUBTITLE = "你說這話是什麼意思"
TOP_TEXT = "今天天氣很好"


def frame_with_texts(width: int = 1280, height: int = 720, subtitle: tuple[str, ...] = (SUBTITLE,)) -> np.ndarray:
    """A dark, slightly grainy BGR frame: the subtitle's lines centred at the bottom (none for ()), and other white
    text at the top."""
    rng = np.random.default_rng(0)
    pixels = np.clip(rng.normal(35, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(embedded_fonts()["noto_sans_tc"].path, 64)
    lines = [(line, height - 150 - 84 * (len(subtitle) - 1 - row)) for row, line in enumerate(subtitle)]
    for text, y in (*lines, (TOP_TEXT, 40)):
        left, _, right, _ = font.getbbox(text)
        draw.text(((width - (right - left)) // 2, y), text, font=font, fill=(252, 252, 252), stroke_width=3,
                  stroke_fill=(0, 0, 0))
    return np.asarray(image)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def peer():
    def no_download(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a file")

    # rapidocr loads its models lazily, on the first frame: keep downloads barred for the whole module.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("rapidocr.utils.download_file.DownloadFile.run", no_download)
        yield RapidOcrPeer(threads=2)


def test_reads_the_subtitle_and_ignores_text_above_the_band(peer):
    frame = frame_with_texts()
    assert peer.read(frame) == SUBTITLE
    whole_frame = copy.copy(peer)
    whole_frame.crop = None
    assert TOP_TEXT in whole_frame.read(frame)  # the top text is read, then left out by the band


def test_read_frames_is_quiet_and_reads_blank_frames_as_empty(peer, capfd):
    blank = np.full((360, 640, 3), 30, np.uint8)  # rapidocr warns "detection result is empty" at its default level
    assert peer.read_frames([blank, frame_with_texts()]) == ["", SUBTITLE]
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_two_line_subtitle_is_read_as_two_lines_top_to_bottom(peer):
    assert peer.read(frame_with_texts(subtitle=("我知道了", "明天見"))) == "我知道了\n明天見"


def test_a_frame_without_a_subtitle_in_the_band_reads_as_empty(peer):
    frame = frame_with_texts(subtitle=())
    assert peer.read(frame) == ""
    whole_frame = copy.copy(peer)
    whole_frame.crop = None
    assert whole_frame.read(frame) == TOP_TEXT  # there is text, above the band


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_boxes_group_into_rows_top_to_bottom_each_left_to_right():
    corners = np.array([box(300, 110, 400, 150), box(0, 100, 200, 148), box(50, 170, 250, 215),
                        box(210, 104, 290, 146)], dtype=np.float32)
    assert text_rows(corners) == [[1, 3, 0], [2]]
    assert text_rows(np.zeros((0, 4, 2), np.float32)) == []


def test_frames_per_second_is_positive(peer):
    assert peer.frames_per_second([np.full((360, 640, 3), 30, np.uint8)], warmup=0) > 0
