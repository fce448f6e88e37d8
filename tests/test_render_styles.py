"""The broadcast styles of issue 11, measured on rendered pixels, and the promise that the classic params (every
look switched off) still draw exactly the frames the pipeline drew before the styles existed."""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from test_render import CLEAN, classic_config

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.dataset.shards import read_manifest, read_split
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts, resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig, compose_frame
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.styles import split_in_two

TEXT = "我知道 但是不行"
SENTENCES = ["我知道", "但是不行", "這是一個國際學校", "你說這話是什麼意思", "明天見", "他們今天晚上不會回來吃飯了"]
# What the renderer of commit a54ab49 (before the styles) drew for these sentences with the classic render params
# (20 frames per split, shards of 8, seed 11): sha256 of each split's manifest, and of every sample's key, JPEG bytes
# and metadata in order (the metadata since gained `line_boxes`, left out here). The 40 frames span all four frame
# tiers, shadows, rescaling and blur. Pillow, OpenCV and libjpeg are pinned by requirements.lock.
FRAMES_BEFORE_STYLES = {
    "train": ("4a2a57b0b1b678b5994c33913b8e8ed8914eea2979ce33544d0c063c58e79b2f",
              "1ec42eaa9b1197b6848d6aa8a31f6bef8498ff9065d9427a22556acb610ad091"),
    "test": ("1e0735325f4dc23608915c1414f2f7694311160984f508dde4407751953ef875",
             "043f5a83da92fbf67442d97407694ee403fd58f0bad3941236e02e7ff50df36c"),
}


def _samples_digest(folder) -> str:
    digest = hashlib.sha256()
    for sample in read_split(folder):
        meta = {k: v for k, v in sample.meta.items() if k != "line_boxes"}
        digest.update(sample.key.encode() + sample.jpeg + json.dumps(meta, ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


def test_classic_params_draw_the_same_frames_as_before_the_styles(tmp_path):
    faces = resolve_fonts(("noto_sans_tc", "noto_serif_tc"), None)  # the faces of that time
    backgrounds, _ = find_backgrounds(True, None)
    config = classic_config(workers=1, shard_size=8)
    for split, (manifest, samples) in FRAMES_BEFORE_STYLES.items():
        out = tmp_path / split
        out.mkdir()
        render_split(split, SENTENCES, 20, faces, backgrounds, config, 11, out)
        assert hashlib.sha256((out / "manifest.csv").read_bytes()).hexdigest() == manifest
        assert _samples_digest(out) == samples


def _config(backgrounds_dir, styles=None, layout=None) -> RenderConfig:
    """Classic render params without shadow, blur, rescaling or background variation, so that pixels can be
    measured, with some `render.styles` and `render.layout` keys replaced."""
    return classic_config(styles, layout, **CLEAN, use_embedded_backgrounds=False, background_dir=str(backgrounds_dir))


def _compose(config: RenderConfig, seed: int, text: str = TEXT) -> tuple[np.ndarray, dict]:
    """The frame in RGB as ints, and its metadata."""
    backgrounds, _ = find_backgrounds(False, config.background_dir)
    frame, meta = compose_frame(text, list(embedded_fonts().values()), backgrounds, config, np.random.default_rng(seed))
    return frame[:, :, ::-1].astype(int), meta


def _white(pixels: np.ndarray) -> np.ndarray:
    return pixels.min(axis=2) >= 250


def test_box_style_darkens_a_box_around_the_text_and_draws_no_outline(grey_background_dir):
    for opacity in (1.0, 0.6):
        config = _config(grey_background_dir, styles={"style_mix": {"box": 1.0}, "box_opacity": [opacity, opacity]})
        for seed in range(3):
            pixels, meta = _compose(config, seed)
            box_grey = round(128 * (1 - opacity))
            darkened = np.all(pixels == box_grey, axis=2)
            rows, cols = np.nonzero(darkened)
            white_rows, white_cols = np.nonzero(_white(pixels))
            assert meta["style"] == "box" and white_rows.size > 200
            # the box holds the text with a margin on every side
            assert rows.min() < white_rows.min() and white_rows.max() < rows.max()
            assert cols.min() < white_cols.min() and white_cols.max() < cols.max()
            box = pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
            assert np.all(box.min(axis=2) >= box_grey - 1)  # nothing darker than the box: no outline
            assert np.median(box[~_white(box)]) == box_grey
            assert darkened.sum() > 0.5 * box.shape[0] * box.shape[1]


@pytest.mark.parametrize("offset", [2, 4])
def test_shadow_style_casts_the_letters_down_and_right_without_an_outline(grey_background_dir, offset):
    config = _config(grey_background_dir, styles={"style_mix": {"shadow": 1.0}, "shadow_offset": [offset, offset],
                                                   "shadow_blur": [0.0, 0.0], "shadow_opacity": [1.0, 1.0]})
    pixels, meta = _compose(config, 0)
    fill = pixels.min(axis=2) > 200
    dark = pixels.max(axis=2) < 30
    assert meta["style"] == "shadow" and not meta["shadow"] and dark.sum() > 100

    def explained(dx: int, dy: int) -> float:
        """The share of dark pixels that lie under the letters moved by (dx, dy) and not under the letters."""
        moved = np.roll(np.roll(fill, dy, axis=0), dx, axis=1)
        return (dark & moved & ~fill).sum() / dark.sum()

    shifts = {(dx, dy): explained(dx, dy) for dx in range(-6, 7) for dy in range(-6, 7)}
    assert max(shifts, key=shifts.get) == (offset, offset)
    assert shifts[(offset, offset)] > 0.9


def test_soft_outline_style_rings_the_letters_in_grey(grey_background_dir):
    config = _config(grey_background_dir, styles={"style_mix": {"soft_outline": 1.0}, "soft_outline_grey": [90, 90],
                                                   "soft_outline_blur": [0.0, 0.0]})
    pixels, meta = _compose(config, 1)
    ring = np.all(pixels == 90, axis=2)
    assert meta["style"] == "soft_outline" and ring.sum() > 200
    assert pixels.min() >= 89  # grey, never black
    blurred, _ = _compose(_config(grey_background_dir, styles={"style_mix": {"soft_outline": 1.0},
                                                                "soft_outline_grey": [90, 90]}), 1)
    assert np.all(blurred == 90, axis=2).sum() < 0.5 * ring.sum()  # the default blur softens the ring


def test_a_palette_colour_replaces_the_near_white_fill(grey_background_dir):
    config = _config(grey_background_dir, styles={"colour_prob": 1.0, "colours": [[255, 235, 0]]})
    pixels, meta = _compose(config, 2)
    yellow = (pixels[:, :, 0] >= 250) & (np.abs(pixels[:, :, 1] - 235) <= 3) & (pixels[:, :, 2] <= 5)
    assert meta["text_rgb"] == [255, 235, 0] and yellow.sum() > 200
    assert not _white(pixels).any()
    assert (pixels.max(axis=2) <= 20).sum() > 200  # still the black outline


def test_bold_thickens_every_stroke_of_the_same_letters(grey_background_dir):
    regular, regular_meta = _compose(_config(grey_background_dir), 3)
    bold, bold_meta = _compose(_config(grey_background_dir, styles={"bold_prob": 1.0, "bold_width": [0.04, 0.04]}), 3)
    assert bold_meta["font_size"] == regular_meta["font_size"]
    assert bold_meta["bold_px"] == round(0.04 * bold_meta["font_size"]) >= 2
    regular_fill, bold_fill = _white(regular), _white(bold)
    assert (regular_fill & bold_fill).sum() >= 0.98 * regular_fill.sum()
    assert bold_fill.sum() > 1.3 * regular_fill.sum()


@pytest.mark.parametrize("text, lines", [("我知道 但是不行", ["我知道", "但是不行"]), ("這是一個國際學校", ["這是一個", "國際學校"])])
def test_two_line_cues_are_centred_one_under_the_other(grey_background_dir, text, lines):
    config = _config(grey_background_dir, layout={"two_line_prob": 1.0, "line_gap": [0.3, 0.3]})
    pixels, meta = _compose(config, 4, text)
    assert meta["text"] == "\n".join(lines)
    ink_rows = np.nonzero(np.abs(pixels - 128).max(axis=(1, 2)) > 10)[0]
    breaks = np.nonzero(np.diff(ink_rows) > 1)[0]
    assert len(breaks) == 1  # two bands of ink rows with blank rows between them
    first, second = ink_rows[:breaks[0] + 1], ink_rows[breaks[0] + 1:]
    pitch = round(meta["font_size"] * 1.3)
    assert abs((second.min() - first.min()) - pitch) <= 4
    height, width = pixels.shape[:2]
    for band in (first, second):
        cols = np.nonzero(np.abs(pixels[band] - 128).max(axis=(0, 2)) > 10)[0]
        assert abs((cols.min() + cols.max()) / 2 - width / 2) <= 2
    assert second.max() < height


@pytest.mark.parametrize("text, two_lines, bold, gap", [("這是一個國際學校", 1.0, 0.0, 0.1), ("我知道 但是不行", 1.0, 1.0, 0.1),
                                                       ("你說這話是什麼意思", 0.0, 1.0, 0.1),
                                                       ("這是一個國際學校", 1.0, 1.0, 0.0)])  # the tightest lines
def test_line_boxes_hold_each_lines_ink_snugly_and_apart(grey_background_dir, text, two_lines, bold, gap):
    config = _config(grey_background_dir, styles={"bold_prob": bold, "bold_width": [0.05, 0.05]},
                     layout={"two_line_prob": two_lines, "line_gap": [gap, gap]})
    for seed in range(4):
        pixels, meta = _compose(config, seed, text)
        ink = np.abs(pixels - 128).max(axis=2) > 10
        boxes = meta["line_boxes"]
        assert len(boxes) == meta["text"].count("\n") + 1 == (2 if two_lines else 1)
        inside = np.zeros_like(ink)
        for x0, y0, x1, y1 in boxes:
            assert not inside[y0:y1, x0:x1].any()  # no two boxes overlap
            inside[y0:y1, x0:x1] = True
            rows, cols = np.nonzero(ink[y0:y1, x0:x1])
            # the line's ink reaches within three pixels (faint anti-aliasing) of the box's top and bottom, and
            # within the glyphs' side bearings (the font's metrics, as for text_box) of its left and right
            bearing = 0.1 * meta["font_size"] + 2
            assert rows.min() <= 3 and rows.max() >= y1 - y0 - 4
            assert cols.min() <= bearing and cols.max() >= x1 - x0 - 1 - bearing
        assert ink[inside].sum() == ink.sum()  # every ink pixel lies in a box
        assert [box[1] for box in boxes] == sorted(box[1] for box in boxes)  # top to bottom
        union = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
        assert union == meta["text_box"]


def test_split_in_two_balances_the_lines():
    assert split_in_two("我知道 但是不行") == ("我知道", "但是不行")
    assert split_in_two("好 我 知道了 明天見") == ("好 我 知道了", "明天見")
    assert split_in_two("明天見") == ("明", "天見")
    assert split_in_two("好") == ("好",)


def test_an_empty_frame_holds_no_text_and_its_truth_is_empty(grey_background_dir):
    pixels, meta = _compose(_config(grey_background_dir, layout={"empty_prob": 1.0}), 5)
    assert np.all(pixels == 128)
    assert meta["text"] == "" and meta["text_box"] is None and meta["line_boxes"] == []


def test_empty_and_two_line_truths_survive_shards_and_manifest(tmp_path, grey_background_dir):
    config = _config(grey_background_dir, layout={"empty_prob": 0.3, "two_line_prob": 0.5})
    config = dataclasses.replace(config, workers=1, shard_size=4)
    backgrounds, _ = find_backgrounds(False, config.background_dir)
    render_split("train", SENTENCES, 12, list(embedded_fonts().values()), backgrounds, config, 11, tmp_path)
    truths = [row["text"] for row in read_manifest(tmp_path)]
    assert [s.text for s in read_split(tmp_path)] == truths
    assert "" in truths and any("\n" in t for t in truths) and any(t in SENTENCES for t in truths)


def test_letterboxed_frames_put_the_subtitle_on_the_black_lower_bar(grey_background_dir):
    config = _config(grey_background_dir, layout={"letterbox_prob": 1.0, "letterbox_bar": [0.12, 0.12]})
    for seed in range(3):
        pixels, meta = _compose(config, seed)
        bar = meta["letterbox_bar"]
        height = pixels.shape[0]
        assert bar == round(0.12 * height)
        assert np.all(pixels[:bar] == 0)
        assert np.all(pixels[bar:height - bar] == 128)  # the picture, untouched by the text
        lower = pixels[height - bar:]
        assert _white(lower).sum() > 200  # the text is on the bar...
        assert np.all((lower.max(axis=2) <= 20) | (lower.min(axis=2) >= 20))  # ...on black: no grey picture there
        assert _white(pixels).sum() == _white(lower).sum()


def test_a_cue_too_tall_for_its_bar_reaches_up_onto_the_picture_instead_of_leaving_the_frame(grey_background_dir):
    # A 22-pixel bar holds no two-line cue even at the smallest font: the renderer once drew its lower line past
    # the frame's bottom edge, outline and glyph feet lost, while the truth and line_boxes still held them.
    config = _config(grey_background_dir, layout={"letterbox_prob": 1.0, "letterbox_bar": [0.03, 0.03],
                                                  "two_line_prob": 1.0})
    for seed in range(3):
        pixels, meta = _compose(config, seed)
        height, width = pixels.shape[:2]
        boxes = meta["line_boxes"]
        assert len(boxes) == 2 and all(0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width for x0, y0, x1, y1 in boxes)
        bottom = boxes[-1][3]
        assert np.all(pixels[bottom:].max(axis=2) == 0)  # below the last line's outline: the black bar, untouched
        picture = pixels[:height - meta["letterbox_bar"]]
        assert (picture.min(axis=2) > 200).any()  # the upper line's glyphs (8 pixels high, anti-aliased) on the picture


def _gradient_dir(tmp_path):
    """A 1280x720 picture whose grey level climbs from 0 at the left edge to 255 at the right."""
    folder = tmp_path / "gradient"
    folder.mkdir()
    ramp = np.round(np.arange(1280) * 255 / 1279).astype(np.uint8)
    Image.fromarray(np.repeat(np.tile(ramp, (720, 1))[:, :, None], 3, axis=2)).save(folder / "ramp.png")
    return folder


@pytest.mark.parametrize("aspect, size, zoom", [("16:9", (1280, 720), 1.0), ("4:3", (960, 720), 1.0),
                                                ("9:16", (720, 1280), 1280 / 720)])
def test_frames_of_each_aspect_cut_the_picture_without_stretching_it(tmp_path, aspect, size, zoom):
    config = _config(_gradient_dir(tmp_path), layout={"aspect_mix": {aspect: 1.0}})
    pixels, meta = _compose(config, 6)
    height, width = pixels.shape[:2]
    assert (width, height) == size and meta.get("aspect", "16:9") == aspect
    top = pixels[10, :, 0]  # a row far from the subtitle
    assert abs((top[-1] - top[0]) / (width - 1) - 255 / 1279 / zoom) < 0.005  # the gradient's slope: same, or zoomed
    assert abs((top[0] + top[-1]) / 2 - 127.5) <= 2  # and centred
    bare, _ = _compose(_config(config.background_dir, layout={"aspect_mix": {aspect: 1.0}, "empty_prob": 1.0}), 6)
    ink_cols = np.nonzero(np.abs(pixels - bare).max(axis=2) > 10)[1]  # what the subtitle changed
    assert ink_cols.size > 200 and abs((ink_cols.min() + ink_cols.max()) / 2 - width / 2) <= 3


@pytest.mark.parametrize("share", [0.03, 0.14])
def test_font_size_as_a_share_of_the_frame_height(grey_background_dir, share):
    pixels, meta = _compose(_config(grey_background_dir, layout={"size_prob": 1.0, "size_range": [share, share]}), 7)
    assert meta["font_size"] == round(share * 720)
    rows = np.nonzero(_white(pixels).any(axis=1))[0]
    assert 0.6 * meta["font_size"] <= rows.max() - rows.min() + 1 <= 1.05 * meta["font_size"]


def test_positions_spread_across_the_bottom_band(grey_background_dir):
    config = _config(grey_background_dir, layout={"position_prob": 1.0, "position_bottom": [0.8, 0.8],
                                                   "position_shift": 0.3})
    centres = []
    for seed in range(6):
        pixels, meta = _compose(config, seed)
        rows, cols = np.nonzero(np.abs(pixels - 128).max(axis=2) > 10)
        assert abs(rows.max() + 1 - 0.8 * 720) <= meta["stroke_width"] + 1
        assert cols.min() > 0 and cols.max() < 1279
        centres.append((cols.min() + cols.max()) / 2)
    assert max(centres) - min(centres) > 50


@pytest.mark.parametrize("section, values, message", [
    ("styles", {"style_mix": {"neon": 1.0}}, "style_mix"),
    ("styles", {"style_mix": {"outline": 0.0}}, "positive sum"),
    ("styles", {"colours": [[300, 0, 0]]}, "colours"),
    ("layout", {"empty_prob": 1.5}, "empty_prob"),
    ("layout", {"aspect_mix": {"21:9": 1.0}}, "aspect_mix"),
])
def test_bad_style_params_name_the_key(tmp_path, section, values, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **{section: values})


@pytest.mark.parametrize("position_prob", [0.0, 1.0])
def test_large_two_line_cues_stay_below_the_top_limit(grey_background_dir, position_prob):
    """A two-line cue at 14% of the frame height a line would reach above the lower third (out of the band readers
    crop); it shrinks and moves down instead, whole and inside the frame."""
    config = _config(grey_background_dir, layout={"two_line_prob": 1.0, "size_prob": 1.0, "size_range": [0.14, 0.14],
                                                  "position_prob": position_prob, "position_bottom": [0.8, 0.8],
                                                  "top_limit": 0.67})
    for seed in range(4):
        pixels, meta = _compose(config, seed, "我們一起去看電影吧")
        height = pixels.shape[0]
        assert len(meta["line_boxes"]) == 2
        assert meta["text_box"][1] >= 0.67 * height and meta["text_box"][3] <= height
        ink_rows = np.nonzero(np.abs(pixels - 128).max(axis=(1, 2)) > 10)[0]
        assert ink_rows.min() >= 0.67 * height
