"""A VLM adapter trained on one machine reads on another: models/recognizer records model.base as given (a hub id),
and the second machine resolves it through its own Hugging Face cache. Two clones with different HF_HOMEs, the real
dvc and git CLIs, and the S3 remote (SeaweedFS on 127.0.0.1) between them."""
from __future__ import annotations

import json
import shutil

import pytest

from zhtw_subtitles.remote.local_s3 import LocalS3
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.testing.hub_snapshot import cache_snapshot
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm

pytestmark = pytest.mark.slow

REPO_ID = "tiny-org/tiny-qwen2-vl"
PREDICTIONS = "data/predictions/finetuned/test.csv"


def offline_with_cache(repo: DvcRepo, hf_home) -> None:
    repo.env.update({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"})


def test_an_adapter_trained_here_reads_there_through_that_machines_cache(tmp_path):
    base = build_tiny_vlm("qwen2_vl", tmp_path / "base", ["明天見", "謝謝你"], seed=0)
    first_home, second_home = tmp_path / "first_hf_home", tmp_path / "second_hf_home"
    cache_snapshot(base, first_home, REPO_ID)
    with LocalS3(tmp_path / "s3") as s3:
        first = DvcRepo.create(tmp_path / "first", {"model": {"base": REPO_ID, "max_pixels": 40000},
                                                    "finetune": {"max_steps": 2, "eval_every": 2}})
        offline_with_cache(first, first_home)
        first.run("dvc", "repro", "infer")
        adapter = json.loads((first.root / "models/recognizer/adapter_config.json").read_text())
        assert adapter["base_model_name_or_path"] == REPO_ID
        first.publish("a VLM adapter", tmp_path / "origin.git", s3)
        shutil.rmtree(first_home)  # the first machine's cache is not on the second one

        second = DvcRepo.clone(tmp_path / "origin.git", tmp_path / "second")
        second.use_remote(s3)
        cache_snapshot(base, second_home, REPO_ID)
        offline_with_cache(second, second_home)
        second.run("dvc", "pull", "--with-deps", "infer")
        assert "Data and pipelines are up to date." in second.run("dvc", "status", "--with-deps", "infer").stdout
        (second.root / PREDICTIONS).unlink()
        second.run("dvc", "repro", "--force", "--single-item", "infer")
    read_there = (second.root / PREDICTIONS).read_text(encoding="utf-8")
    assert read_there == (first.root / PREDICTIONS).read_text(encoding="utf-8")
    assert len(read_there.splitlines()) == 1 + 6
