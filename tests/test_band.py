"""The subtitle band and the classical text-line locator, on frames drawn here the way subtitles look."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from zhtw_subtitles.reading.band import (
    DEFAULT_BAND,
    band_bounds,
    crop_band,
    find_text_line,
    line_crop,
)
from zhtw_subtitles.synth.fonts import embedded_fonts

FONT_PATH = embedded_fonts()["noto_sans_tc"].path


def iou(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    overlap = max(width, 0) * max(height, 0)
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


def noisy(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(110, 45, (height, width, 3)), (0, 0), 1.0)
    return np.clip(texture, 0, 255).astype(np.uint8)


def white_sky(height: int, width: int) -> np.ndarray:
    """An overexposed sky fading from light grey to white, with JPEG-like grain."""
    ramp = np.linspace(225, 255, height)[:, None, None] + np.random.default_rng(1).normal(0, 3, (height, width, 3))
    return np.clip(ramp, 0, 255).astype(np.uint8)


def skyline(height: int, width: int, level: float, seed: int = 0) -> np.ndarray:
    """A white sky above a jagged black silhouette: its notches are white with black on both sides, like strokes."""
    rng = np.random.default_rng(seed)
    ridge = np.clip(int(level * height) + np.cumsum(rng.integers(-3, 4, width)), 0, height - 1)
    scene = np.full((height, width, 3), 245, np.uint8)
    scene[np.arange(height)[:, None] >= ridge[None, :]] = 20
    return cv2.GaussianBlur(scene, (0, 0), 0.8)


def stars(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sky = np.full((height, width, 3), 12, np.uint8)
    for _ in range(width // 8):
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        cv2.circle(sky, centre, int(rng.integers(1, 4)), (250, 250, 250), -1)
    return cv2.GaussianBlur(sky, (0, 0), 0.7)


def cups(height: int, width: int) -> np.ndarray:
    """White cups with soft grey shading on a brown table, two of them in the band beside the subtitle."""
    table = np.empty((height, width, 3), np.uint8)
    table[:] = (40, 70, 120)
    for cx in (width // 8, 7 * width // 8, width // 2):
        centre, axes = (cx, int(height * 0.85)), (width // 14, height // 10)
        cv2.ellipse(table, centre, axes, 0, 0, 360, (150, 150, 150), -1)
        cv2.ellipse(table, centre, (axes[0] - 6, axes[1] - 6), 0, 0, 360, (250, 252, 252), -1)
    return cv2.GaussianBlur(table, (0, 0), 1.2)


def draw_subtitle(background: np.ndarray, text: str, size: int, stroke: int = 3, shadow: bool = False,
                  blur: float = 0.0, quality: int = 75) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """`background` with a white, black-outlined subtitle at the bottom centre (JPEG round trip), and its box."""
    height, width = background.shape[:2]
    image = Image.fromarray(background[:, :, ::-1])
    font = ImageFont.truetype(FONT_PATH, size)
    left, top, right, bottom = font.getbbox(text)
    x = (width - (right - left)) // 2 - left
    y = int(height - 2.5 * (bottom - top)) - top
    if shadow:
        layer = Image.new("L", image.size)
        ImageDraw.Draw(layer).text((x + 3, y + 3), text, fill=180, font=font, stroke_width=stroke, stroke_fill=180)
        image.paste((0, 0, 0), mask=layer.filter(ImageFilter.GaussianBlur(1.5)))
    ImageDraw.Draw(image).text((x, y), text, fill=(252, 252, 252), font=font, stroke_width=stroke, stroke_fill=(0, 0, 0))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    ok, jpeg = cv2.imencode(".jpg", np.asarray(image)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    box = (x + left - stroke, y + top - stroke, x + right + stroke, y + bottom + stroke)
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), box


def found_box_in_frame(frame: np.ndarray) -> tuple[int, int, int, int] | None:
    x0, y0, _, _ = band_bounds(frame.shape[0], frame.shape[1], DEFAULT_BAND)
    box = find_text_line(crop_band(frame, DEFAULT_BAND))
    return None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)


def test_crop_band_takes_fractions_of_the_frame():
    frame = np.arange(200 * 400 * 3, dtype=np.uint32).reshape(200, 400, 3).astype(np.uint8)
    assert crop_band(frame, DEFAULT_BAND).shape == (70, 400, 3)
    assert np.array_equal(crop_band(frame, DEFAULT_BAND), frame[130:])
    assert np.array_equal(crop_band(frame, (0.25, 0.5, 0.75, 1.0)), frame[100:, 100:300])
    assert np.array_equal(crop_band(frame, None), frame)
    assert band_bounds(360, 640, None) == (0, 0, 640, 360)


@pytest.mark.parametrize("crop", [(0.0, 0.7, 1.0, 0.6), (0.5, 0.0, 0.5, 1.0), (-0.1, 0.0, 1.0, 1.0), (0, 0, 1, 1.5)])
def test_crop_band_refuses_a_box_that_is_not_one(crop):
    with pytest.raises(ValueError, match="crop"):
        crop_band(np.zeros((10, 10, 3), np.uint8), crop)


@pytest.mark.parametrize("name, frame_and_box", [
    ("noisy 720p", lambda: draw_subtitle(noisy(720, 1280), "你說這話是什麼意思", 60)),
    ("noisy 360p small", lambda: draw_subtitle(noisy(360, 640, seed=2), "我們應該廢除死刑", 28, stroke=2)),
    ("white sky", lambda: draw_subtitle(white_sky(720, 1280), "今天天氣很好", 56)),
    ("white sky, shadow, blur", lambda: draw_subtitle(white_sky(480, 854), "他們喝可樂", 40, shadow=True, blur=0.8)),
    ("white cups", lambda: draw_subtitle(cups(720, 1280), "我知道但是不行", 64, quality=60)),
    ("skyline", lambda: draw_subtitle(skyline(720, 1280, level=0.85), "今天天氣很好", 56)),
    ("stars", lambda: draw_subtitle(stars(360, 640), "你學英語嗎", 30, stroke=2)),
    ("1080p", lambda: draw_subtitle(noisy(1080, 1920, seed=3), "這是一個國際學校", 90)),
])
def test_find_text_line_boxes_the_subtitle(name, frame_and_box):
    frame, truth = frame_and_box()
    found = found_box_in_frame(frame)
    assert found is not None, name
    assert iou(found, truth) >= 0.8, (name, found, truth)


@pytest.mark.parametrize("band", [
    noisy(126, 640), white_sky(252, 1280), cups(720, 1280)[468:], skyline(252, 1280, level=0.5), stars(378, 1920),
])
def test_find_text_line_finds_nothing_without_a_subtitle(band):
    assert find_text_line(band) is None


@pytest.mark.parametrize("band", [
    np.zeros((0, 0, 3), np.uint8),
    np.zeros((0, 640, 3), np.uint8),
    np.zeros((126, 0, 3), np.uint8),
    np.zeros((1, 1, 3), np.uint8),
    np.full((3, 500, 3), 255, np.uint8),
    np.full((126, 640, 3), 255, np.uint8),
    np.zeros((126, 640, 3), np.uint8),
    np.full((126, 640, 3), 128, np.uint8),
    np.full((126, 640), 200, np.uint8),
])
def test_find_text_line_survives_degenerate_bands(band):
    assert find_text_line(band) is None


def test_find_text_line_reads_a_grey_band():
    frame, truth = draw_subtitle(noisy(720, 1280), "你說這話是什麼意思", 60)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x0, y0, _, _ = band_bounds(720, 1280, DEFAULT_BAND)
    box = find_text_line(crop_band(grey, DEFAULT_BAND))
    assert box is not None
    assert iou((box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0), truth) >= 0.8


def test_line_crop_keeps_the_line_with_a_margin_or_falls_back_to_the_band():
    frame, truth = draw_subtitle(white_sky(720, 1280), "今天天氣很好", 56)
    line = line_crop(frame, DEFAULT_BAND, pad_fraction=0.2)
    box_height = truth[3] - truth[1]
    assert abs(line.shape[0] - 1.4 * box_height) <= 6
    assert abs(line.shape[1] - (truth[2] - truth[0] + 0.4 * box_height)) <= 12
    plain = white_sky(720, 1280)
    assert line_crop(plain, DEFAULT_BAND).shape == crop_band(plain, DEFAULT_BAND).shape
    assert line_crop(plain, None).shape == plain.shape
