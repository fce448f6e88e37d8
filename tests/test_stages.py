"""Stage entry points in-process, for inputs the real corpora cannot produce."""
from __future__ import annotations

import runpy

import pytest
import yaml

from zhtw_subtitles.text import corpora
from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.testing.dvc_repo import REPO


def write_pipeline(root, without: str | None = None, **changes) -> None:
    """What a stage reads its params from, in `root`: the repository's dvc.yaml, and its params.yaml with the
    top-level `changes` and without the key `without`."""
    params = {**yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8")), **changes}
    params.pop(without, None)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    (root / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text(encoding="utf-8"), encoding="utf-8")


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", [name for name, stage in STAGES.items() if "crop" in stage.get("params", [])])
def test_a_stage_without_the_crop_key_stops_naming_it_instead_of_reading_the_whole_frame(stage, tmp_path, monkeypatch):
    write_pipeline(tmp_path, without="crop")  # `crop: null` reads the whole frame; a missing key must not
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=f"params.yaml has no key 'crop', which stage '{stage}' reads: add it"):
        runpy.run_path(str(REPO / "stages" / f"{stage}.py"), run_name="__main__")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_empty_corpus_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    write_pipeline(tmp_path, corpus="empty")
    monkeypatch.setitem(corpora.CORPORA, "empty", lambda settings: corpora.Source("empty", lambda: iter(["", "a", "OK"]), False))
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/extract_sentences.py"))
    with pytest.raises(ConfigError, match="corpus 'empty' gave 0 usable line"):
        stage["main"]()
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()


def test_infer_on_an_empty_test_set_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\n")
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no frames"):
        stage["main"]()
    assert not (tmp_path / "data/predictions").exists()


def test_infer_without_a_trained_model_says_how_to_get_one(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\nk,0,字,a,1,1,1\n")
    (tmp_path / "models/recognizer").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no saved model: run `dvc repro finetune` or `dvc pull`"):
        stage["main"]()
