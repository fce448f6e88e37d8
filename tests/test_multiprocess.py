"""finetune under several processes: the real stage run by `dvc repro` with launcher=torchrun, two processes on the
CPU (gloo), for the built-in recogniser and for a tiny VLM. Both processes train on their halves of the data, the
main one alone sets up checkpoints, logs, evaluates in full and saves, and what it saves loads."""
from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
import yaml

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.models.registry import ModelConfig, load_for_inference
from zhtw_subtitles.models.vlm_models import device
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.readers import trained_reader
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm
from zhtw_subtitles.training.finetune_vlm import process_share

TWO_PROCESSES = "torchrun --standalone --nproc_per_node 2"
BATCH = 2
CROP = (0.0, 0.65, 1.0, 1.0)


@pytest.fixture(scope="module")
def data_repo(tmp_path_factory) -> DvcRepo:
    repo = DvcRepo.create(tmp_path_factory.mktemp("multiprocess") / "repo")
    repo.run("dvc", "repro", "build_json")
    return repo


def two_process_run(data_repo: DvcRepo, root, params: dict) -> DvcRepo:
    """A copy of the data repo whose finetune runs as two processes for one epoch, then `dvc repro finetune`."""
    shutil.copytree(data_repo.root, root, symlinks=True)
    repo = DvcRepo(root)
    repo.set_params({"launcher": TWO_PROCESSES, **params,
                     "finetune": {"epochs": 1, "batch_size": BATCH, "eval_every": 2, "checkpoint_every": 2,
                                  **params.get("finetune", {})}})
    repo.run("dvc", "repro", "finetune")
    return repo


def train_answers(repo: DvcRepo) -> list[str]:
    return [r["conversations"][1]["value"] for r in json.loads((repo.root / "data/llava/train.json").read_text("utf-8"))]


def train_frames(repo: DvcRepo) -> int:
    """A VLM's training samples: every frame, those without a subtitle too."""
    return len(train_answers(repo))


def train_lines(repo: DvcRepo) -> int:
    """The recogniser's training samples: each drawn line (two for a two-line cue, none for an empty frame)."""
    return sum(len(answer.split("\n")) for answer in train_answers(repo) if answer)


def check_one_logged_run(repo: DvcRepo, samples: int) -> int:
    """The steps of one epoch split over two processes (each a half of the samples), every one logged once, by one
    DVCLive, and checkpointed; returns that step count."""
    steps = math.ceil(math.ceil(samples / 2) / BATCH)
    assert steps < math.ceil(samples / BATCH)  # one process would take more steps for the epoch
    live = repo.root / "metrics/finetune"
    assert yaml.safe_load((live / "params.yaml").read_text())["processes"] == 2
    assert json.loads((live / "metrics.json").read_text())["step"] == steps
    logged = [int(row.split("\t")[0]) for row in (live / "plots/metrics/train/loss.tsv").read_text().splitlines()[1:]]
    assert logged == list(range(1, steps + 1))
    checkpoint = repo.root / f"models/checkpoints/checkpoint-{steps}/trainer_state.json"
    assert json.loads(checkpoint.read_text())["global_step"] == steps
    assert "Data and pipelines are up to date." in repo.run("dvc", "status", "finetune").stdout
    return steps


@pytest.mark.slow
def test_the_recogniser_trains_on_two_processes_and_saves_once(data_repo, tmp_path):
    repo = two_process_run(data_repo, tmp_path / "repo", {})
    check_one_logged_run(repo, train_lines(repo))
    assert not list((repo.root / "models").glob(".recognizer*"))  # no second process's staging folder left
    ids, texts, unreadable = read_frames(load_for_inference(repo.root / "models/recognizer"),
                                         shard_frames(repo.root / "data/synth/test"), CROP, batch_size=8)
    assert len(ids) == 6 and not unreadable and any(texts)


@pytest.mark.slow
def test_a_vlm_trains_on_two_processes_evaluates_every_frame_once_and_merges(data_repo, tmp_path):
    base = build_tiny_vlm("qwen2_vl", tmp_path / "base", ["明天見"], seed=0)
    repo = two_process_run(data_repo, tmp_path / "repo", {"model": {"base": str(base), "max_pixels": 40000},
                                                         "finetune": {"merge": True}})
    steps = check_one_logged_run(repo, train_frames(repo))
    evaluated = [int(row.split("\t")[0]) for row in
                 (repo.root / "metrics/finetune/plots/metrics/val/cer.tsv").read_text().splitlines()[1:]]
    # every eval_every steps and at the end, once each; the score needs every frame's answer exactly once
    assert evaluated == sorted({*range(2, steps + 1, 2), steps})
    out = repo.root / "models/recognizer"
    assert {"adapter_config.json", "adapter_model.safetensors", "generation_config.json", "merged"} <= {
        p.name for p in out.iterdir()}
    reader = trained_reader(out, default_config(ModelConfig, "model", base=str(base), max_pixels=40000), "讀")
    ids, _, unreadable = read_frames(reader, shard_frames(repo.root / "data/synth/test"), CROP, batch_size=8)
    assert len(ids) == 6 and not unreadable


def test_the_validation_shares_cover_every_frame_once_in_order():
    for count in range(7):
        for processes in (1, 2, 3):
            shares = [process_share(count, index, processes) for index in range(processes)]
            assert [i for share in shares for i in share] == list(range(count))


def test_each_process_takes_its_own_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert device() == torch.device("cuda", 1)
    monkeypatch.delenv("LOCAL_RANK")
    assert device() == torch.device("cuda", 0)
