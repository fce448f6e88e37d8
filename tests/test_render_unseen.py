"""The unseen-style split: the test lines drawn with fonts, backgrounds and a style mix that train/test never use."""
from __future__ import annotations

import json
import runpy

import pytest
import yaml

from zhtw_subtitles.core.config import ConfigError, default_config, default_params
from zhtw_subtitles.dataset.shards import read_manifest, read_split
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.sources import check_held_out, unseen_config
from zhtw_subtitles.testing.dvc_repo import REPO

TRAIN = ["我知道了", "明天見", "你說什麼"]
TEST = ["這是一個國際學校", "但是不行", "他們今天晚上不會回來吃飯了"]


def _render_params(**unseen) -> dict:
    """params.yaml's render section, tiny, with some `render.unseen` keys replaced."""
    render = default_params()["render"]
    return {**render, "num_images": 4, "num_test_images": 3, "workers": 1, "shard_size": 2, "frames_per_video": 3,
            "unseen": {**render["unseen"], "num_images": 5, **unseen}}


def _check(**unseen) -> None:
    seen = default_config(RenderConfig, "render", **_render_params(**unseen))
    held_out = unseen_config(seen)
    check_held_out(seen, resolve_fonts(seen.fonts, seen.font_dir), held_out,
                   resolve_fonts(held_out.fonts, held_out.font_dir))


def test_the_default_unseen_split_holds_out_its_fonts_and_backgrounds():
    _check()
    render = default_params()["render"]
    assert not set(render["unseen"]["fonts"]) & set(render["fonts"])
    assert not set(render["unseen"]["embedded_videos"]) & set(render["embedded_videos"])
    assert not (render["unseen"]["use_embedded_backgrounds"] and render["use_embedded_backgrounds"])


@pytest.mark.parametrize("unseen, message", [
    ({"fonts": ["noto_sans_cjk_tc_black", "noto_serif_tc"]}, r"draws with \['Noto Serif TC'\], which train/test"),
    ({"embedded_videos": ["bikes", "bigbuckbunny"]}, r"shares 1 background file\(s\).*bigbuckbunny.mp4"),
    ({"use_embedded_backgrounds": True}, r"shares 14 background file\(s\)"),
])
def test_an_unseen_split_sharing_a_font_or_background_source_is_refused(unseen, message):
    with pytest.raises(ConfigError, match=message):
        _check(**unseen)


def test_a_bad_unseen_style_is_reported_as_the_unseen_splits():
    styles = {**default_params()["render"]["unseen"]["styles"], "style_mix": {"neon": 1.0}}
    with pytest.raises(ConfigError, match=r"in render.unseen: .*style_mix"):
        default_config(RenderConfig, "render", **_render_params(styles=styles))


def test_the_same_font_file_by_another_name_is_refused(tmp_path):
    serif = resolve_fonts(("noto_serif_tc",), None)[0].path
    with pytest.raises(ConfigError, match="Noto Serif TC"):
        _check(fonts=[serif])


def _run_stage(root, monkeypatch, render: dict) -> None:
    params = {**yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8")), "render": render}
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    (root / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (root / "data/sentences").mkdir(parents=True)
    for split, lines in (("train", TRAIN), ("test", TEST)):
        (root / f"data/sentences/{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(root)
    runpy.run_path(str(REPO / "stages/render_synth.py"))["main"]()


def test_render_synth_writes_the_unseen_split_from_the_test_lines_with_its_own_sources(tmp_path, monkeypatch):
    _run_stage(tmp_path, monkeypatch, _render_params())
    unseen = tmp_path / "data/synth/unseen"
    assert sorted(p.name for p in unseen.iterdir()) == ["manifest.csv", "shard-00000.tar", "shard-00001.tar",
                                                          "shard-00002.tar"]
    samples = list(read_split(unseen))
    assert [s.key for s in samples] == [f"unseen-{i:06d}" for i in range(5)]
    assert [s.text for s in samples] == [row["text"] for row in read_manifest(unseen)]
    assert all(s.text.replace("\n", "") in TEST or s.text == "" for s in samples)
    assert {s.meta["font"] for s in samples} <= {"Noto Sans CJK TC Black", ""}
    assert {s.meta["background"].split("@")[0] for s in samples} <= {"bikes.mp4", "carphone_pristine.mp4"}
    metrics = json.loads((tmp_path / "metrics/render.json").read_text())
    for split, count in (("train", 4), ("test", 3), ("unseen", 5)):
        drawn = metrics[split]
        assert drawn["images"] == count == sum(drawn["background_sources"].values())
        assert sum(drawn["styles"].values()) == sum(drawn["fonts"].values()) == count - drawn["layouts"].get("empty", 0)
    assert set(metrics["unseen"]["background_sources"]) <= {"bikes.mp4", "carphone_pristine.mp4"}
    assert set(metrics["train"]["background_sources"]) <= {"bigbuckbunny.mp4", "embedded photographs"}
    assert metrics["unseen_sources"]["fonts_available"] == ["Noto Sans CJK TC Black"]
    assert metrics["unseen_sources"]["backgrounds_used"] == 2 * 3


def test_render_synth_refuses_an_unseen_split_that_is_not_held_out(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="must hold out its fonts"):
        _run_stage(tmp_path, monkeypatch, _render_params(fonts=["noto_sans_tc"]))
    assert not (tmp_path / "data/synth").exists()
