from __future__ import annotations

from pathlib import Path

import pytest
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont
from line_finder_fixture import train_small_finder
from PIL import Image

from zhtw_subtitles.synth.fonts import embedded_fonts

REPO = Path(__file__).resolve().parents[1]
SAMPLE_TEXT = "我知道但是不行這是一個國際學校你說話什麼意思 "


def make_subset_font(out: Path, keep: str, family: str | None = None) -> Path:
    """A small font holding only the glyphs of `keep`, optionally renamed to `family`."""
    font = TTFont(embedded_fonts()["noto_sans_tc"].path)
    options = subset.Options()
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in keep])
    subsetter.subset(font)
    if family:
        for record in font["name"].names:
            if record.nameID in (1, 4, 16):
                record.string = family
    font.save(out)
    return out


@pytest.fixture(scope="session")
def font_without_guo(tmp_path_factory) -> Path:
    """Covers SAMPLE_TEXT except 國."""
    folder = tmp_path_factory.mktemp("fonts")
    return make_subset_font(folder / "NoGuo.otf", SAMPLE_TEXT.replace("國", ""), "No Guo Sans TC")


@pytest.fixture(scope="session")
def collection_tc_second(tmp_path_factory) -> Path:
    """A .ttc whose first face is Japanese and second Traditional Chinese."""
    folder = tmp_path_factory.mktemp("ttc")
    jp = make_subset_font(folder / "jp.otf", SAMPLE_TEXT, "Noto Sans JP")
    tc = make_subset_font(folder / "tc.otf", SAMPLE_TEXT, "Noto Sans TC")
    collection = TTCollection()
    collection.fonts = [TTFont(jp), TTFont(tc)]
    collection.save(folder / "mixed.ttc")
    return folder / "mixed.ttc"


@pytest.fixture()
def grey_background_dir(tmp_path) -> Path:
    """One flat grey 1280x720 picture: text and stroke pixels stand out exactly."""
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    Image.new("RGB", (1280, 720), (128, 128, 128)).save(folder / "grey.png")
    return folder


@pytest.fixture(scope="session")
def trained_line_finder(tmp_path_factory):
    """(model, root, settings, calibration bands): tests/line_finder_fixture.py's small finder, saved in root/finder."""
    return train_small_finder(tmp_path_factory.mktemp("line_finder"))
