"""The recogniser's training lines are cut from the renderer's line boxes: one sample per drawn line, with that
line's part of the truth; none for a frame without a subtitle; old renders fall back to the classical locator."""
from __future__ import annotations

import dataclasses

import pytest
from PIL import Image
from test_render import CLEAN, classic_config

from zhtw_subtitles.dataset.frames import to_pil
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.models.registry import load_for_inference
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.training.line_data import frame_lines, lines_by_frame

SENTENCES = ["你說這話是什麼意思", "今天天氣很好", "這是一個國際學校", "他們今天晚上不會回來"]
BAND = (0.0, 0.65, 1.0, 1.0)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """Eight clean frames on grey: some two-line cues, some without a subtitle."""
    folder = tmp_path_factory.mktemp("lines")
    backgrounds_dir = folder / "backgrounds"
    backgrounds_dir.mkdir()
    Image.new("RGB", (1280, 720), (128, 128, 128)).save(backgrounds_dir / "grey.png")
    config = classic_config(layout={"two_line_prob": 0.5, "empty_prob": 0.25}, **CLEAN, workers=1, shard_size=8,
                            use_embedded_backgrounds=False, background_dir=str(backgrounds_dir), jpeg_quality=[95, 95])
    backgrounds, _ = find_backgrounds(False, str(backgrounds_dir))
    out = folder / "test"
    out.mkdir()
    render_split("test", SENTENCES, 8, list(embedded_fonts().values()), backgrounds, config, 3, out)
    return out


def test_each_drawn_line_is_one_sample_with_its_own_text(split):
    samples = list(read_split(split))
    texts = {sample.key: sample.text for sample in samples}
    assert any("\n" in text for text in texts.values()) and "" in texts.values()  # the split holds both cases
    lines = lines_by_frame(split, BAND, texts)
    assert set(lines) == set(texts)
    reader = load_for_inference("ppocr_v6_small")
    for key, text in texts.items():
        assert [line.text for line in lines[key]] == (text.split("\n") if text else [])
        if text:
            readings = reader.read(preprocess([to_pil(line.image) for line in lines[key]]))
            assert readings == text.split("\n"), key


def test_a_frame_rendered_before_line_boxes_falls_back_to_the_classical_locator(split):
    sample = next(s for s in read_split(split) if s.text and "\n" not in s.text)
    old = dataclasses.replace(sample, meta={k: v for k, v in sample.meta.items() if k != "line_boxes"})
    (line,) = frame_lines(old, BAND)
    assert line.text == sample.text
    (with_boxes,) = frame_lines(sample, BAND)
    # The locator's box and the renderer's differ by a few pixels of margin, not by a line.
    assert abs(line.image.shape[0] - with_boxes.image.shape[0]) < 0.3 * with_boxes.image.shape[0]


def test_line_boxes_that_do_not_match_the_text_are_a_clear_error(split):
    sample = next(s for s in read_split(split) if "\n" in s.text)
    damaged = dataclasses.replace(sample, meta={**sample.meta, "line_boxes": sample.meta["line_boxes"][:1]})
    with pytest.raises(ValueError, match="1 line boxes but 2 lines of text"):
        frame_lines(damaged, BAND)
