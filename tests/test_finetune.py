"""Fine-tuning the built-in recogniser through stages/finetune.py itself: DVCLive logs, checkpoints, resume after
kill -9, and validation subtitles holding characters the recogniser has no class for."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from transformers import Trainer

from zhtw_subtitles.core.config import ConfigError, default_config
from zhtw_subtitles.models.ctc import CtcCharset
from zhtw_subtitles.models.ppocr_rec import charset_from_onnx, rapidocr_onnx_path
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.training.finetune_ctc import WidthGroupedTrainer, train
from zhtw_subtitles.training.line_data import LineCrop, LineDataset, collate
from zhtw_subtitles.training.trainer import (
    FINGERPRINT,
    FinetuneConfig,
    last_complete_checkpoint,
    training_arguments,
)

# 仴 伓 佡 侒: Han characters the embedded fonts draw but PP-OCRv6's dictionary lacks.
CORPUS = ["我知道了", "明天見", "謝謝你", "今天天氣很好", "這是一個國際學校", "你說這話是什麼意思", "我們走吧", "晚安",
          "好久不見", "沒關係", "他叫仴", "我看伓", "這個佡", "那是侒"]
LIVE = Path("metrics/finetune")
CHECKPOINTS = Path("models/checkpoints")


def some_line(text: str) -> LineCrop:
    return LineCrop(text, np.zeros((32, 96, 3), np.uint8), text)


def test_lines_with_characters_the_recogniser_lacks_are_left_out_and_counted(capsys):
    charset = CtcCharset("我看見你明天")
    dataset = LineDataset([some_line("我看見你"), some_line("你看伓"), some_line("明天"), some_line("伓佡")], charset,
                          augment=False, seed=0)
    assert [line.text for line in dataset.lines] == ["我看見你", "明天"]
    assert dataset[1]["labels"] == charset.encode("明天")
    assert "left out 2 of 4 lines: they hold characters the recogniser has no class for (伓佡)" in capsys.readouterr().out


def test_an_empty_validation_set_is_a_clear_error(tmp_path):
    charset = CtcCharset("我看")
    config = default_config(FinetuneConfig, "finetune", max_steps=1, batch_size=1)
    with pytest.raises(ConfigError, match="1 training and 0 validation lines"):
        train(pretrained_ppocr_v6_small(), LineDataset([some_line("我看")], charset, True, 0),
              LineDataset([some_line("伓")], charset, False, 0), collate, config, 0, tmp_path / "ck", tmp_path / "live", "x")


def test_batches_grouped_by_width_hold_every_line_once_with_little_padding(tmp_path):
    widths = np.random.default_rng(0).integers(100, 700, 400)  # 32 high: 150 to 1050 pixels wide at the input
    dataset = LineDataset([LineCrop(str(i), np.zeros((32, int(w), 3), np.uint8), "我看") for i, w in enumerate(widths)],
                          CtcCharset("我看"), augment=False, seed=0)
    assert [collate([dataset[i]])["pixel_values"].shape[-1] for i in range(400)] == dataset.input_widths
    # transformers sorts groups of 50 batches, or of a quarter of the lines when there are fewer
    args = training_arguments(default_config(FinetuneConfig, "finetune", batch_size=4), 0, tmp_path, True)
    padded = {}
    for trainer_class in (Trainer, WidthGroupedTrainer):
        trainer = trainer_class(model=pretrained_ppocr_v6_small(), args=args, train_dataset=dataset, eval_dataset=dataset,
                                data_collator=collate)
        batches = list(trainer.get_train_dataloader())
        assert sum(len(batch["labels"]) for batch in batches) == 400
        padded[trainer_class] = sum(batch["pixel_values"].shape[0] * batch["pixel_values"].shape[-1] for batch in batches)
    assert padded[WidthGroupedTrainer] < 1.1 * sum(dataset.input_widths) < 0.85 * padded[Trainer]


@pytest.fixture(scope="module")
def data_repo(tmp_path_factory) -> DvcRepo:
    """The pipeline up to build_json on CORPUS; some validation subtitles hold a character of no training line."""
    root = tmp_path_factory.mktemp("finetune") / "repo"
    repo = DvcRepo.create(root, {"corpus": "files", "corpus_files": {"zh_tw": True},
                                 "sentences": {"space_join_prob": 0.0, "test_fraction": 0.2},
                                 "render": {"num_images": 16}, "json": {"val_fraction": 0.5}})
    (root / "data/raw/files").mkdir(parents=True, exist_ok=True)
    (root / "data/raw/files/lines.txt").write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    repo.run("dvc", "repro", "build_json")
    return repo


def fresh_copy(repo: DvcRepo, root: Path, finetune: dict) -> DvcRepo:
    shutil.copytree(repo.root, root, symlinks=True)
    copy = DvcRepo(root)
    copy.set_params({"finetune": {"batch_size": 4, "eval_samples": 6, "logging_every": 1, **finetune}})
    return copy


def answers(repo: DvcRepo, split: str) -> list[str]:
    return [r["conversations"][1]["value"] for r in json.loads((repo.root / f"data/llava/{split}.json").read_text("utf-8"))]


def start_stage(repo: DvcRepo) -> subprocess.Popen:
    return subprocess.Popen(["python", "stages/finetune.py"], cwd=repo.root, env=repo.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def logged_steps(repo: DvcRepo, metric: str = "train/loss") -> list[int]:
    table = repo.root / LIVE / f"plots/metrics/{metric}.tsv"
    return [int(line.split("\t")[0]) for line in table.read_text().splitlines()[1:]] if table.exists() else []


def complete_checkpoints(repo: DvcRepo) -> list[int]:
    return sorted(int(p.parent.name.split("-")[1]) for p in (repo.root / CHECKPOINTS).glob("checkpoint-*/trainer_state.json"))


@pytest.mark.slow
def test_validation_subtitles_nobody_taught_are_left_out_not_a_crash(data_repo, tmp_path):
    repo = fresh_copy(data_repo, tmp_path / "repo", {"max_steps": 2, "eval_every": 2, "checkpoint_every": 2})
    known = set(charset_from_onnx(rapidocr_onnx_path()).characters) | {c for text in answers(repo, "train") for c in text}
    val = [line for text in answers(repo, "val") for line in text.split("\n") if line]  # the recogniser reads lines
    unteachable = [line for line in val if set(line) - known]
    assert 0 < len(unteachable) < len(val), f"the corpus no longer puts both kinds of line in validation: {val}"
    result = repo.run("python", "stages/finetune.py")
    assert f"left out {len(unteachable)} of {len(val)} lines" in result.stdout
    summary = json.loads((repo.root / LIVE / "metrics.json").read_text())
    assert summary["step"] == 2 and "cer" in summary["val"]


@pytest.mark.slow
def test_rerun_after_kill_9_resumes_from_the_last_checkpoint(data_repo, tmp_path):
    repo = fresh_copy(data_repo, tmp_path / "repo", {"max_steps": 20, "eval_every": 5, "checkpoint_every": 5})
    stage = start_stage(repo)
    deadline = time.monotonic() + 300
    # Kill once steps past a checkpoint were logged: the rerun must redo them without logging them twice.
    while not (complete_checkpoints(repo) and logged_steps(repo) and logged_steps(repo)[-1] > complete_checkpoints(repo)[-1]):
        assert stage.poll() is None, stage.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.05)
    stage.send_signal(signal.SIGKILL)
    stage.wait()
    last_checkpoint = complete_checkpoints(repo)[-1]
    assert last_checkpoint < 20
    loss_table = repo.root / LIVE / "plots/metrics/train/loss.tsv"
    logged_before_checkpoint = loss_table.read_text().splitlines()[: 1 + last_checkpoint]
    assert not (repo.root / "models/recognizer").exists() and not list((repo.root / "models").glob(".recognizer*"))

    repo.run("python", "stages/finetune.py")
    assert yaml.safe_load((repo.root / LIVE / "params.yaml").read_text())["resumed_from"] == f"checkpoint-{last_checkpoint}"
    assert logged_steps(repo) == list(range(1, 21))  # no step lost, none logged twice
    assert loss_table.read_text().splitlines()[: 1 + last_checkpoint] == logged_before_checkpoint
    assert logged_steps(repo, "val/cer") == [5, 10, 15, 20]
    summary = json.loads((repo.root / LIVE / "metrics.json").read_text())
    assert summary["step"] == 20 and "cer" in summary["val"]
    assert (repo.root / "models/recognizer/model.safetensors").exists()


def test_checkpoints_of_other_settings_are_discarded(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "checkpoint-5").mkdir(parents=True)
    (folder / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (folder / FINGERPRINT).write_text("old settings")
    assert last_complete_checkpoint(folder, "new settings") is None
    assert [p.name for p in folder.iterdir()] == [FINGERPRINT]


def test_a_checkpoint_cut_off_mid_save_is_skipped(tmp_path):
    folder = tmp_path / "checkpoints"
    for step, complete in ((5, True), (10, True), (15, False)):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (folder / FINGERPRINT).write_text("same")
    assert last_complete_checkpoint(folder, "same").name == "checkpoint-10"
