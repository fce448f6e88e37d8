"""Stage entry points in-process, for inputs the real corpora cannot produce."""
from __future__ import annotations

import runpy

import pytest
import yaml

from zhtw_subtitles.text import corpora
from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.testing.dvc_repo import REPO


def test_empty_corpus_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "corpus": "empty"}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setitem(corpora.CORPORA, "empty", lambda settings: corpora.Source("empty", lambda: iter(["", "a", "OK"]), False))
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/extract_sentences.py"))
    with pytest.raises(ConfigError, match="corpus 'empty' gave 0 usable line"):
        stage["main"]()
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()


def test_infer_on_an_empty_test_set_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\n")
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no frames"):
        stage["main"]()
    assert not (tmp_path / "data/predictions").exists()


def test_infer_without_a_trained_model_says_how_to_get_one(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\nk,0,字,a,1,1,1\n")
    (tmp_path / "models/recognizer").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no saved model: run `dvc repro finetune` or `dvc pull`"):
        stage["main"]()
