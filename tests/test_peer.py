"""The rapidocr peer reads the bottom band of a frame, offline and quietly."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.reading.peer import RapidOcrPeer
from zhtw_subtitles.synth.fonts import embedded_fonts

SUBTITLE = "你說這話是什麼意思"
TOP_TEXT = "今天天氣很好"


def frame_with_texts(width: int = 1280, height: int = 720) -> np.ndarray:
    """A dark, slightly grainy BGR frame: the subtitle at the bottom centre and other white text at the top."""
    rng = np.random.default_rng(0)
    pixels = np.clip(rng.normal(35, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(embedded_fonts()["noto_sans_tc"].path, 64)
    for text, y in ((SUBTITLE, height - 150), (TOP_TEXT, 40)):
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


def test_frames_per_second_is_positive(peer):
    assert peer.frames_per_second([np.full((360, 640, 3), 30, np.uint8)], warmup=0) > 0
