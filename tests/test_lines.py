"""Every subtitle line in the band (reading/lines.py), on bands drawn here the way burned-in subtitles look."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.reading.lines import find_text_lines
from zhtw_subtitles.synth.fonts import embedded_fonts

FONT = ImageFont.truetype(embedded_fonts()["noto_sans_tc"].path, 48)


def band_with(lines: list[str], background: np.ndarray, bottom: int = 230,
              spacing: int = 62) -> tuple[np.ndarray, list[tuple]]:
    """The band (BGR) with `lines` centred above `bottom`, `spacing` pixels apart, white in a black outline; and each
    line's box."""
    image = Image.fromarray(background[:, :, ::-1].copy())
    draw = ImageDraw.Draw(image)
    boxes, top = [], bottom - spacing * len(lines)
    for row, line in enumerate(lines):
        left = (image.width - draw.textlength(line, font=FONT)) / 2
        y = top + spacing * row
        draw.text((left, y), line, font=FONT, fill="white", stroke_width=3, stroke_fill="black")
        boxes.append(draw.textbbox((left, y), line, font=FONT, stroke_width=3))
    return np.asarray(image)[:, :, ::-1].copy(), boxes


def textured(height: int = 250, width: int = 1280, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(cv2.GaussianBlur(rng.normal(110, 40, (height, width, 3)), (0, 0), 2), 0, 255).astype(np.uint8)


def covers(found: tuple, drawn: tuple, slack: int = 8) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(found, drawn))


def test_two_line_cue_gives_two_boxes_top_to_bottom():
    # Lines set tight (their outlines touch): their rows run together until the blank gap between glyphs splits them.
    band, drawn = band_with(["你說話什麼意思", "我知道但是不行"], textured(), spacing=48)
    boxes, mask = find_text_lines(band)
    assert len(boxes) == 2 and all(covers(b, d) for b, d in zip(boxes, drawn)), (boxes, drawn)
    assert mask[boxes[0][1]:boxes[0][3]].any() and not mask[:boxes[0][1]].any()


def test_line_whose_busiest_rows_are_one_bar_spans_all_its_characters():
    band, drawn = band_with(["等一下"], textured(seed=1))
    (box,), _ = find_text_lines(band)
    assert covers(box, drawn[0]), (box, drawn)


def test_bright_clutter_above_a_single_character_is_left_out():
    background = textured(seed=2)
    for centre, axes, arc in (((640, 150), (200, 110), (200, 260)), ((560, 40), (90, 40), (0, 120)),
                              ((720, 60), (60, 50), (30, 160))):  # chrome glints: thin white arcs outlined in black
        cv2.ellipse(background, centre, axes, 0, *arc, (0, 0, 0), 7)
        cv2.ellipse(background, centre, axes, 0, *arc, (255, 255, 255), 3)
    band, drawn = band_with(["嗯"], background)
    (box,), _ = find_text_lines(band)
    assert covers(box, drawn[0]), (box, drawn)


def test_a_band_without_subtitle_has_no_lines():
    boxes, mask = find_text_lines(textured(seed=3))
    assert boxes == [] and not mask.any()
