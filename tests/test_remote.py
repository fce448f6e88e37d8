"""The second box: data, models, scores and experiments travel through a real S3 server (SeaweedFS on
127.0.0.1) and a bare git repository, with the real `dvc` and `git` CLIs, and survive a server crash."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zhtw_subtitles.remote.local_s3 import LocalS3, free_ports
from zhtw_subtitles.testing.dvc_repo import DvcRepo, files_moved

pytestmark = pytest.mark.slow

UP_TO_DATE = "Data and pipelines are up to date."
EXPERIMENTS = {"fast-lr": "finetune.learning_rate=0.05", "four-steps": "finetune.max_steps=4"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with LocalS3(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def first_box(tmp_path_factory, s3) -> DvcRepo:
    """Clone A: the tiny pipeline reproduced and committed, git pushed to a bare `origin`, data to the S3 remote."""
    folder = tmp_path_factory.mktemp("boxes")
    repo = DvcRepo.create(folder / "a")
    repo.run("dvc", "repro")
    assert "files pushed" in repo.publish("baseline", folder / "origin.git", s3).stdout
    return repo


def second_box(first_box: DvcRepo, s3: LocalS3, root: Path) -> DvcRepo:
    repo = DvcRepo.clone(first_box.root.parent / "origin.git", root)
    repo.use_remote(s3)
    return repo


def tracked_files(repo: DvcRepo) -> dict[str, bytes]:
    """Every file of the pipeline's outputs and metrics, by path."""
    folders = [repo.root / "data", repo.root / "models", repo.root / "metrics"]
    return {str(p.relative_to(repo.root)): p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()}


def test_second_box_pulls_everything_and_nothing_reruns(first_box, s3, tmp_path):
    repo = second_box(first_box, s3, tmp_path / "b")
    assert "files fetched" in repo.run("dvc", "pull").stdout
    assert UP_TO_DATE in repo.run("dvc", "status").stdout
    reproduced = repo.run("dvc", "repro").stdout
    assert "Running stage" not in reproduced and UP_TO_DATE in reproduced
    ours, theirs = tracked_files(repo), tracked_files(first_box)
    assert ours == {path: data for path, data in theirs.items() if not path.startswith("models/checkpoints/")}
    assert "Cache and remote 'storage' are in sync." in repo.run("dvc", "status", "--cloud").stdout


def test_experiments_travel_and_apply_with_their_outputs(first_box, s3, tmp_path):
    for name, change in EXPERIMENTS.items():
        first_box.run("dvc", "exp", "run", "-n", name, "-S", change)
    ran = experiment_rows(first_box)
    pushed = first_box.run("dvc", "exp", "push", "origin", *EXPERIMENTS).stdout
    assert all(name in pushed for name in EXPERIMENTS)

    repo = second_box(first_box, s3, tmp_path / "b")
    for name in EXPERIMENTS:
        repo.run("dvc", "exp", "pull", "origin", name)
    shown = experiment_rows(repo)
    assert set(EXPERIMENTS) <= set(shown)
    for name in EXPERIMENTS:  # each experiment arrives with the scores it was run to
        assert shown[name]["metrics/scores.json"]["data"] == ran[name]["metrics/scores.json"]["data"]

    repo.run("dvc", "exp", "apply", "fast-lr")
    assert UP_TO_DATE in repo.run("dvc", "status").stdout  # every output is there and matches the experiment
    scores = json.loads((repo.root / "metrics/scores.json").read_text())
    assert without_nulls(scores) == without_nulls(shown["fast-lr"]["metrics/scores.json"]["data"])
    assert (repo.root / "models/recognizer/model.safetensors").exists()

    repo.run("git", "commit", "-qam", "learning rate 0.05")
    diff = json.loads(repo.run("dvc", "metrics", "diff", "HEAD~1", "HEAD", "--json").stdout)
    cer = diff["metrics/scores.json"]["test.finetuned.cer"]
    assert cer["new"] == scores["test"]["finetuned"]["cer"] and cer["diff"] != 0
    assert "test.finetuned.cer" in repo.run("dvc", "metrics", "diff", "HEAD~1", "HEAD").stdout


def without_nulls(metrics: dict) -> dict:
    """The metrics that hold a value: `dvc exp show` leaves out the ones not measured (null in the file, such as
    false_readings on a split without an empty frame)."""
    return {key: without_nulls(value) if isinstance(value, dict) else value
            for key, value in metrics.items() if value is not None}


def experiment_rows(repo: DvcRepo) -> dict[str, dict]:
    """`dvc exp show --json`: the metrics of each named experiment."""
    rows = json.loads(repo.run("dvc", "exp", "show", "--json").stdout)
    return {exp["name"]: exp["data"]["metrics"] for baseline in rows for exp_range in baseline.get("experiments") or []
            for exp in exp_range["revs"] if exp.get("name")}


def test_wrong_credentials_fail_and_are_named(first_box, s3, tmp_path):
    repo = second_box(first_box, s3, tmp_path / "b")
    repo.run("dvc", "remote", "modify", "--local", "storage", "secret_access_key", "not-the-secret")
    pulled = repo.run("dvc", "pull", check=False)
    assert pulled.returncode != 0 and "Forbidden" in pulled.stderr
    assert not (repo.root / "data/synth").exists()
    checked = repo.run("python", "-m", "zhtw_subtitles.remote.remote_check", check=False)
    assert checked.returncode != 0
    assert "credentials refused (SignatureDoesNotMatch" in checked.stderr

    repo.run("dvc", "remote", "modify", "--local", "storage", "access_key_id", "nobody")
    checked = repo.run("python", "-m", "zhtw_subtitles.remote.remote_check", check=False)
    assert "credentials refused (InvalidAccessKeyId" in checked.stderr
    assert not corrupt_cache_objects(repo)


def test_server_started_by_hand_prints_the_commands_that_configure_a_clone(first_box, tmp_path):
    repo = DvcRepo.clone(first_box.root.parent / "origin.git", tmp_path / "b")
    port = free_ports(1)[0]
    script = subprocess.Popen([sys.executable, "-m", "zhtw_subtitles.remote.local_s3", "--dir", str(tmp_path / "s3"),
                               "--port", str(port)], cwd=repo.root, env=repo.env, text=True, stdout=subprocess.PIPE)
    try:
        printed = [line.strip() for line in itertools.takewhile(lambda line: "Ctrl-C" not in line, script.stdout)]
        for command in (line for line in printed if line.startswith("dvc ")):
            repo.run(*command.split())
        checked = repo.run("python", "-m", "zhtw_subtitles.remote.remote_check").stdout
    finally:
        script.terminate()  # stops weed too, as Ctrl-C does
        script.wait(60)
    assert f"at http://127.0.0.1:{port}): reachable, credentials accepted" in checked
    weed_pid = int(re.search(r"\(pid (\d+)\)", printed[0]).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(weed_pid, 0)


def test_push_survives_a_server_crash_and_a_third_clone_verifies_every_file(first_box, s3, tmp_path):
    pusher = second_box(first_box, s3, tmp_path / "pusher")
    pusher.run("dvc", "pull")
    add_bulk_data(pusher, files=40, megabytes=4)  # long enough a push to crash the server in the middle of it
    with LocalS3(tmp_path / "crashing-s3") as server:
        pusher.use_remote(server)
        # One attempt per request: botocore's default five, with back-off, would make the failing push last minutes.
        push = subprocess.Popen(["dvc", "push", "--jobs", "1"], cwd=pusher.root, env={**pusher.env, "AWS_MAX_ATTEMPTS": "1"},
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for_objects(server, at_least=10)
        server.stop(timeout_s=0)  # a crash: terminate and kill at once
        out, err = push.communicate(timeout=600)
        assert push.returncode != 0, out
        assert "ERROR:" in err and "Could not connect to the endpoint URL" in err  # which file failed first varies
        assert not corrupt_cache_objects(pusher)

        server.start()
        pushed = pusher.run("dvc", "push").stdout
        assert 0 < files_moved(pushed, "pushed") < len(server.objects())  # what arrived before the crash is not resent

        third = DvcRepo.clone(pusher.root, tmp_path / "c")
        third.use_remote(server)
        third.run("dvc", "remote", "modify", "--local", "storage", "verify", "true")  # re-hash every pulled file
        third.run("dvc", "pull")
    assert UP_TO_DATE in third.run("dvc", "status").stdout
    assert tracked_files(third) == tracked_files(pusher)
    assert not corrupt_cache_objects(third)


def add_bulk_data(repo: DvcRepo, files: int, megabytes: int) -> None:
    folder = repo.root / "data/bulk"
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"{i:03d}.bin").write_bytes(os.urandom(megabytes << 20))
    repo.run("dvc", "add", "data/bulk")
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-qm", "bulk data")


def wait_for_objects(server: LocalS3, at_least: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while len(server.objects()) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} objects arrived in {timeout_s} s"
        time.sleep(0.05)


def corrupt_cache_objects(repo: DvcRepo) -> list[Path]:
    """Cache objects whose content does not hash to their name (DVC names each object by its MD5)."""
    objects = (p for p in (repo.root / ".dvc/cache/files/md5").rglob("*") if p.is_file())
    return [p for p in objects if hashlib.md5(p.read_bytes()).hexdigest() != (p.parent.name + p.name).removesuffix(".dir")]
