"""Small file formats shared by the stages: sentence lists and metrics JSON."""
from __future__ import annotations

import json
from pathlib import Path

from zhtw_subtitles.core.atomic import write_text
from zhtw_subtitles.core.config import ConfigError


def write_lines(path: Path, lines: list[str]) -> None:
    write_text(path, "".join(f"{line}\n" for line in lines))


def read_lines(path: Path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path} not found: run `dvc repro extract_sentences` first")
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_metrics(path: Path, metrics: dict) -> None:
    write_text(path, json.dumps(metrics, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
