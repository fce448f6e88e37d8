"""Builds a throw-away copy of this repository, with its own git and DVC, for tests that run the real CLIs."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from zhtw_subtitles.remote.local_s3 import LocalS3

REPO = Path(__file__).resolve().parents[2]
PIPELINE_FILES = ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore", "stages", "zhtw_subtitles", "data/raw", "data/videos")

TINY_PARAMS = {
    "corpus": "hsk",
    "render": {"num_images": 12, "num_test_images": 6, "shard_size": 5, "workers": 2, "unseen": {"num_images": 6}},
    "line_finder": {"train_frames": 8, "val_frames": 4, "steps": 2, "batch_size": 4, "logging_every": 1,
                    "calibration_frames": 4},
    "json": {"val_fraction": 0.2},
    "finetune": {"max_steps": 2, "batch_size": 4, "eval_every": 1, "eval_samples": 2, "checkpoint_every": 1,
                 "logging_every": 1},
}


def files_moved(output: str, verb: str) -> int | None:
    """N of DVC's closing summary 'N files pushed' / 'N files fetched, M files added'; 0 when the summary leaves
    `verb` out (DVC drops zero counts, and says "Everything is up to date." when all are zero); None when the output
    holds no summary at all (a DVC that words it differently): not measured, rather than a 0 that reads as a result."""
    found = re.search(rf"(\d+) files? {verb}", output)
    if found:
        return int(found.group(1))
    summary = "Everything is up to date." in output or re.search(r"^\d+ files? \w+", output, re.MULTILINE)
    return 0 if summary else None


def _merge(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return merged


class DvcRepo:
    def __init__(self, root: Path):
        self.root = root
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(root),
                    "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
                    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}

    @classmethod
    def create(cls, root: Path, params: dict | None = None) -> DvcRepo:
        root.mkdir(parents=True, exist_ok=True)
        for name in PIPELINE_FILES:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, root / name)
        repo = cls(root)
        repo.set_params(_merge(TINY_PARAMS, params or {}))
        repo.run("git", "init", "-q", "-b", "main")
        repo.run("dvc", "init", "-q")
        shutil.copy2(REPO / ".dvc/config", root / ".dvc/config")  # the project's default remote
        repo.run("git", "add", "-A")
        repo.run("git", "commit", "-qm", "pipeline")
        return repo

    @classmethod
    def clone(cls, source: str | Path, root: Path) -> DvcRepo:
        """A fresh `git clone` of `source`, as a second machine would make it: no data, empty DVC cache."""
        root.mkdir(parents=True)
        repo = cls(root)
        repo.run("git", "clone", "-q", str(source), ".")
        return repo

    def use_remote(self, server: LocalS3) -> None:
        """Point the default remote at `server`, credentials in .dvc/config.local as a user would."""
        for command in server.dvc_remote_commands():
            self.run(*command.split())

    def publish(self, message: str, origin: Path, server: LocalS3) -> subprocess.CompletedProcess:
        """Commit everything, push git to a new bare `origin` and the data to `server`; the `dvc push` result."""
        self.run("git", "add", "-A")
        self.run("git", "commit", "-qm", message)
        self.run("git", "init", "-q", "--bare", "-b", "main", str(origin))
        self.run("git", "remote", "add", "origin", str(origin))
        self.run("git", "push", "-q", "origin", "main")
        self.use_remote(server)
        return self.run("dvc", "push")

    def set_params(self, changes: dict) -> None:
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump(_merge(params, changes), allow_unicode=True, sort_keys=False), encoding="utf-8")

    def run(self, *args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess:
        """Run a command in the repo; `timeout` (seconds) guards tests, benches of long runs pass None."""
        result = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result
