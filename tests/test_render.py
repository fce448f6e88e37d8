from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from zhtw_subtitles.core.config import ConfigError, default_config
from zhtw_subtitles.dataset.shards import read_manifest, read_split
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts, open_face, resolve_fonts
from zhtw_subtitles.synth.render import (
    RenderConfig,
    classic_looks,
    compose_frame,
    render_frame,
    tier_for_area,
)
from zhtw_subtitles.synth.render_split import assign_sentences, covering_first, render_split

def classic_config(styles: dict | None = None, layout: dict | None = None, **overrides) -> RenderConfig:
    """params.yaml's render section with issue 11's looks switched off (the white outlined line at the bottom of a
    16:9 frame, as the study drew it), then `styles` and `layout` keys and other `overrides` replaced."""
    return classic_looks(default_config(RenderConfig, "render", **overrides), styles, layout)


CLEAN = {  # no shadow, blur, rescale or colour change: pixels can be measured exactly
    "shadow_prob": 0.0, "blur_prob": 0.0, "rescale_prob": 0.0,
    "background": {"colour_shift": 0.0, "brightness": 0.0, "flip_prob": 0.0, "scale": [1.0, 1.0], "crop_area": [1.0, 1.0], "aspect_jitter": 0.0},
}


@pytest.mark.parametrize("area, size", [
    (100, (640, 360)), (315_000, (640, 360)), (315_001, (854, 480)), (660_000, (854, 480)),
    (660_001, (1280, 720)), (1_560_800, (1280, 720)), (1_560_801, (1920, 1080)), (10**8, (1920, 1080)),
])
def test_frame_size_follows_the_study_area_table(area, size):
    tier = tier_for_area(area, default_config(RenderConfig, "render").frame_tiers)
    assert (tier.width, tier.height) == size


@pytest.mark.parametrize("size, fonts", [((640, 360), (27, 36)), ((854, 480), (35, 48)), ((1280, 720), (50, 70)), ((1920, 1080), (75, 100))])
def test_font_size_ranges_per_tier(size, fonts):
    tier = next(t for t in default_config(RenderConfig, "render").frame_tiers if (t.width, t.height) == size)
    assert (tier.font_min, tier.font_max) == fonts


def test_colour_stroke_and_placement_measured_on_pixels(grey_background_dir):
    config = classic_config(**CLEAN, use_embedded_backgrounds=False, background_dir=str(grey_background_dir))
    backgrounds, _ = find_backgrounds(False, str(grey_background_dir))
    faces = list(embedded_fonts().values())
    for seed in range(12):
        frame, meta = compose_frame("我知道 但是不行", faces, backgrounds, config, np.random.default_rng(seed))
        pixels = frame[:, :, ::-1].astype(int)  # BGR -> RGB
        h, w = pixels.shape[:2]
        assert (w, h) == (1280, 720)  # the grey picture's area picks the 720p tier
        ink = np.abs(pixels - 128).max(axis=2) > 10
        white = pixels.min(axis=2) >= 250
        dark = pixels.max(axis=2) <= 20
        rows, cols = np.nonzero(ink)
        white_rows, white_cols = np.nonzero(white)
        # near-white fill: every fully covered fill pixel has all channels in [250, 255]
        assert white.sum() > 200
        assert np.all(pixels[white] >= 250)
        assert tuple(np.median(pixels[white], axis=0).astype(int)) == tuple(meta["text_rgb"])
        # black outline: dark pixels surround the fill, 2..3 px wide
        assert dark.sum() > 200
        assert 2 <= meta["stroke_width"] <= 3
        assert meta["stroke_width"] <= _outline_width(pixels, ink) <= meta["stroke_width"] + 1
        # horizontally centred
        assert abs((cols.min() + cols.max()) / 2 - w / 2) <= 2
        # the fill's top edge lies between h - 3*text_h and h - 2*text_h
        text_h = meta["text_height"]
        assert h - 3 * text_h - 1 <= white_rows.min() <= h - 2 * text_h + 2
        x0, y0, x1, y1 = meta["text_box"]  # holds every ink pixel, snugly
        assert 0 <= cols.min() - x0 <= 4 and 0 <= rows.min() - y0 <= 4
        assert 0 <= x1 - cols.max() - 1 <= 4 and 0 <= y1 - rows.max() - 1 <= 4
        assert 50 <= meta["font_size"] <= 70


def _outline_width(pixels: np.ndarray, ink: np.ndarray) -> float:
    """Typical distance, along rows, from the outer edge of the ink to the first mostly-white fill pixel."""
    bright = pixels.min(axis=2) > 190
    distances = []
    for ink_row, bright_row in zip(ink, bright):
        if ink_row.any() and bright_row.any():
            distances.append(np.argmax(bright_row) - np.argmax(ink_row))
    return float(np.percentile(distances, 25))  # anti-aliasing widens the outer edge by about one pixel


def test_a_font_missing_a_character_never_draws_it(font_without_guo):
    partial = open_face(font_without_guo)
    full = embedded_fonts()["noto_sans_tc"]
    assert not partial.covers("國家") and partial.missing("國際學校") == "國"
    tasks, skipped = assign_sentences(["這是一個國際學校", "我知道"], 2, [partial, full])
    assert skipped == 0
    assert dict(tasks) == {"這是一個國際學校": (1,), "我知道": (0, 1)}
    backgrounds, _ = find_backgrounds(True, None)
    config = classic_config()
    for seed in range(30):
        faces = [[partial, full][i] for i in dict(tasks)["這是一個國際學校"]]
        _, meta = render_frame("這是一個國際學校", faces, backgrounds, config, np.random.default_rng(seed))
        assert meta["font"] == full.name


def test_a_sentence_no_font_covers_is_skipped_and_counted(font_without_guo):
    partial = open_face(font_without_guo)
    tasks, skipped = assign_sentences(["國家", "我知道", "國際"], 3, [partial])
    assert skipped == 2
    assert [text for text, _ in tasks] == ["我知道"] * 3
    with pytest.raises(ConfigError, match="none of the 1 sentences"):
        assign_sentences(["國家"], 1, [partial])


def test_char_coverage_draws_the_lines_that_bring_rare_characters_first(font_without_guo):
    sentences = ["我知道", "我知道", "你知道", "知道了", "颱風"]
    assert covering_first(sentences, 1) == ["我知道", "你知道", "知道了", "颱風", "我知道"]
    assert covering_first(sentences, 2) == sentences
    face = embedded_fonts()["noto_sans_tc"]
    tasks, _ = assign_sentences(sentences, 4, [face], char_coverage=1)
    assert [text for text, _ in tasks] == ["我知道", "你知道", "知道了", "颱風"]
    tasks, _ = assign_sentences(sentences, 4, [face], char_coverage=0)
    assert [text for text, _ in tasks] == sentences[:4]
    # a sentence no face can draw is never drawn, so its characters still count as rare
    tasks, skipped = assign_sentences(["國際學校", "學校", "不行"], 1, [open_face(font_without_guo)], char_coverage=1)
    assert skipped == 1 and [text for text, _ in tasks] == ["學校"]


def test_collection_picks_the_traditional_chinese_face(collection_tc_second):
    face = open_face(collection_tc_second)
    assert face.index == 1 and "TC" in face.name


def test_missing_font_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        resolve_fonts((str(tmp_path / "gone.ttf"),), None)
    with pytest.raises(ConfigError, match="unknown font 'comic_sans'"):
        resolve_fonts(("comic_sans",), None)


def test_corrupt_backgrounds_are_skipped_and_counted(grey_background_dir):
    (grey_background_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (grey_background_dir / "empty.png").write_bytes(b"")
    readable, corrupt = find_backgrounds(False, str(grey_background_dir))
    assert [b.path.rsplit("/", 1)[-1] for b in readable] == ["grey.png"]
    assert sorted(p.rsplit("/", 1)[-1] for p in corrupt) == ["broken.jpg", "empty.png"]


def test_only_corrupt_backgrounds_is_an_error(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="no readable background"):
        find_backgrounds(False, str(tmp_path))


@pytest.mark.parametrize("key, value", [("num_images", 0), ("num_test_images", -1), ("shard_size", 0)])
def test_non_positive_counts_are_rejected(key, value):
    with pytest.raises(ConfigError, match=key):
        default_config(RenderConfig, "render", **{key: value})


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_shards_are_identical_whatever_the_number_of_workers(tmp_path):
    faces = list(embedded_fonts().values())
    backgrounds, _ = find_backgrounds(True, None)
    sentences = ["我知道", "但是不行", "這是一個國際學校", "你說這話是什麼意思", "明天見"]
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        config = default_config(RenderConfig, "render", workers=workers, shard_size=4)
        stats = render_split("train", sentences, 9, faces, backgrounds, config, 3, out)
        outputs.append(_digest(out))
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == ["manifest.csv", "shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]
    assert stats["images"] == 9 and stats["shards"] == 3
    samples = list(read_split(tmp_path / "w2"))
    assert [s.key for s in samples] == [f"train-{i:06d}" for i in range(9)]
    assert [s.text for s in samples] == [row["text"] for row in read_manifest(tmp_path / "w2")]
    assert Image.open(io.BytesIO(samples[0].jpeg)).format == "JPEG"


def test_another_seed_gives_other_frames(tmp_path):
    faces = list(embedded_fonts().values())
    backgrounds, _ = find_backgrounds(True, None)
    config = default_config(RenderConfig, "render", workers=1)
    digests = []
    for seed in (1, 2):
        out = tmp_path / str(seed)
        out.mkdir()
        render_split("test", ["我知道"], 2, faces, backgrounds, config, seed, out)
        digests.append(_digest(out)["shard-00000.tar"])
    assert digests[0] != digests[1]
