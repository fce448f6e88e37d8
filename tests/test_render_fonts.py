"""Fonts beyond the two Noto faces: the embedded Noto Sans CJK TC weights and installed families found by fontconfig."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import SAMPLE_TEXT, make_subset_font
from test_render import CLEAN, classic_config

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import compose_frame
from zhtw_subtitles.synth.render_split import assign_sentences

TEXT = "這是一個國際學校"


def _white_pixels(face, backgrounds_dir) -> int:
    config = classic_config(**CLEAN, use_embedded_backgrounds=False, background_dir=str(backgrounds_dir))
    backgrounds, _ = find_backgrounds(False, config.background_dir)
    frame, meta = compose_frame(TEXT, [face], backgrounds, config, np.random.default_rng(0))
    assert meta["font"] == face.name
    return int((frame.min(axis=2) >= 250).sum())


def test_the_cjk_weights_are_traditional_chinese_faces_drawn_heavier(grey_background_dir):
    regular, bold, black = resolve_fonts(("noto_sans_tc", "noto_sans_cjk_tc_bold", "noto_sans_cjk_tc_black"), None)
    assert (bold.name, black.name) == ("Noto Sans CJK TC Bold", "Noto Sans CJK TC Black")
    for face in (bold, black):
        assert face.covers(TEXT + "臺灣電視節目") and face.missing(TEXT) == ""
    ink = [_white_pixels(face, grey_background_dir) for face in (regular, bold, black)]
    assert ink[0] * 1.3 < ink[1] < ink[2]  # same text, size and place: heavier strokes


@pytest.fixture
def fontconfig_with_one_family(tmp_path, monkeypatch):
    """fontconfig seeing only one font: family 'Caption Test TC', covering SAMPLE_TEXT but 國."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    path = make_subset_font(folder / "caption.otf", SAMPLE_TEXT.replace("國", ""), "Caption Test TC")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>{folder}</dir>'
                    f'<cachedir>{tmp_path / "cache"}</cachedir></fontconfig>\n')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    return path


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig is not installed")
def test_an_installed_family_is_found_by_name_and_keeps_the_no_tofu_check(fontconfig_with_one_family):
    (face,) = resolve_fonts(("caption test tc",), None)
    assert face.path == str(fontconfig_with_one_family) and face.name == "Caption Test TC"
    assert resolve_fonts((str(fontconfig_with_one_family),), None) == [face]  # the path still works
    tasks, skipped = assign_sentences(["國際學校", "我知道"], 2, [face])
    assert skipped == 1 and {text for text, _ in tasks} == {"我知道"}


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig is not installed")
def test_a_family_fontconfig_replaces_by_another_is_refused(fontconfig_with_one_family):
    with pytest.raises(ConfigError, match=r"unknown font 'Kai Missing'.*offered 'Caption Test TC'.*fc-list :lang=zh"):
        resolve_fonts(("Kai Missing",), None)
