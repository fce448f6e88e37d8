"""Fine-tuning with the Hugging Face Trainer: DVCLive logs, checkpoints, and resume after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from zhtw_subtitles.training.trainer import FINGERPRINT, last_complete_checkpoint

JOB = Path(__file__).with_name("finetune_job.py")


def start_job(workdir: Path, max_steps: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(JOB.parent)}
    return subprocess.Popen([sys.executable, str(JOB), str(workdir), str(max_steps)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def logged_steps(workdir: Path) -> list[int]:
    table = workdir / "live/plots/metrics/train/loss.tsv"
    return [int(line.split("\t")[0]) for line in table.read_text().splitlines()[1:]] if table.exists() else []


@pytest.mark.slow
def test_rerun_after_kill_9_resumes_from_the_last_checkpoint(tmp_path):
    job = start_job(tmp_path, 40)
    checkpoint = tmp_path / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    deadline = time.monotonic() + 300
    # Kill after steps past the checkpoint were logged: the rerun must redo them without logging them twice.
    while not (checkpoint.exists() and logged_steps(tmp_path) and logged_steps(tmp_path)[-1] > 10):
        assert job.poll() is None, job.stderr.read()
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (tmp_path / "model").exists()

    rerun = start_job(tmp_path, 40)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()
    live_params = yaml.safe_load((tmp_path / "live" / "params.yaml").read_text())
    resumed_at = int(live_params["resumed_from"].split("-")[1])
    assert resumed_at in {10, 15, 20, 25, 30, 35}
    loss_steps = logged_steps(tmp_path)
    assert loss_steps == list(range(1, 41))  # continued from the checkpoint: no restart, no step logged twice
    state = json.loads((tmp_path / "checkpoints/checkpoint-40/trainer_state.json").read_text())
    assert state["global_step"] == 40
    summary = json.loads((tmp_path / "live/metrics.json").read_text())
    assert summary["step"] == 40 and "cer" in summary["val"]
    assert (tmp_path / "model" / "model.safetensors").exists()


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
