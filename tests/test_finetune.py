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

from zhtw_subtitles.finetune_ctc import FINGERPRINT, last_complete_checkpoint

JOB = Path(__file__).with_name("finetune_job.py")


def start_job(workdir: Path, max_steps: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(JOB.parent)}
    return subprocess.Popen([sys.executable, str(JOB), str(workdir), str(max_steps)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_rerun_after_kill_9_resumes_from_the_last_checkpoint(tmp_path):
    job = start_job(tmp_path, 20)
    checkpoint = tmp_path / "checkpoints" / "checkpoint-10" / "trainer_state.json"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert job.poll() is None, job.stderr.read()
        assert time.monotonic() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (tmp_path / "model").exists()

    rerun = start_job(tmp_path, 20)
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()
    live_params = yaml.safe_load((tmp_path / "live" / "params.yaml").read_text())
    assert live_params["resumed_from"] in {"checkpoint-10", "checkpoint-15"}
    resumed_at = int(live_params["resumed_from"].split("-")[1])
    loss_steps = [int(line.split("\t")[0]) for line in (tmp_path / "live/plots/metrics/train/loss.tsv").read_text().splitlines()[1:]]
    assert loss_steps[-1] == 20 and loss_steps == sorted(set(loss_steps))  # continued, not restarted from step 1
    assert min(loss_steps) == 1 and resumed_at < 20
    state = json.loads((tmp_path / "checkpoints/checkpoint-20/trainer_state.json").read_text())
    assert state["global_step"] == 20
    summary = json.loads((tmp_path / "live/metrics.json").read_text())
    assert summary["step"] == 20 and "cer" in summary["val"]
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
