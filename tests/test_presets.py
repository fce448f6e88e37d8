"""presets/*.yaml applied with `dvc exp run $(python -m zhtw_subtitles.presets PRESET)`: the flags, given to the real
dvc CLI, queue an experiment whose params are params.yaml with the preset's values; bad presets stop with the key."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zhtw_subtitles.core.config import ConfigError, build, read_params
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_models import LoraConfig
from zhtw_subtitles.presets import flatten, set_flags
from zhtw_subtitles.testing.dvc_repo import REPO, DvcRepo
from zhtw_subtitles.training.trainer import FinetuneConfig

PRESETS = sorted((REPO / "presets").glob("*.yaml"))


def test_the_study_and_the_recommended_recipe_are_presets():
    assert {path.stem for path in PRESETS} == {"study", "recommended"}


@pytest.fixture(scope="module")
def queued(tmp_path_factory) -> tuple[DvcRepo, dict[str, dict]]:
    """Each preset queued as an experiment by the real dvc CLI, the flags word-split as the shell does."""
    repo = DvcRepo.create(tmp_path_factory.mktemp("presets") / "repo")
    for preset in PRESETS:
        printed = repo.run(sys.executable, "-m", "zhtw_subtitles.presets", str(preset)).stdout
        repo.run("dvc", "exp", "run", "--queue", "-n", preset.stem, *printed.split())
    rows = json.loads(repo.run("dvc", "exp", "show", "--json").stdout)
    params = {exp["name"]: exp["data"]["params"]["params.yaml"]["data"] for baseline in rows
              for exp_range in baseline.get("experiments") or [] for exp in exp_range["revs"] if exp.get("name")}
    return repo, params


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=lambda path: path.stem)
def test_a_preset_queues_an_experiment_with_exactly_its_values(queued, preset):
    repo, queued_params = queued
    expected = read_params(repo.root / "params.yaml")
    for key, value in flatten(yaml.safe_load(preset.read_text(encoding="utf-8"))).items():
        *parents, leaf = key.split(".")
        section = expected
        for part in parents:
            section = section[part]
        section[leaf] = value
    assert queued_params[preset.stem] == json.loads(json.dumps(expected))


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS, ids=lambda path: path.stem)
def test_the_stages_read_the_params_dvc_writes_for_a_preset(queued, preset, tmp_path):
    repo, _ = queued
    # The queued experiment's params.yaml, as DVC wrote it, lies in the queue's stash commit.
    stash = subprocess.run(["git", "log", "-g", "--format=%H %s", "refs/exps/celery/stash"], cwd=repo.root,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    commit = next(line.split()[0] for line in stash if preset.stem in line)
    written = tmp_path / "params.yaml"
    written.write_text(repo.run("git", "show", f"{commit}:params.yaml").stdout, encoding="utf-8")
    params = read_params(written)
    preset_values = flatten(yaml.safe_load(preset.read_text(encoding="utf-8")))
    configs = {section: build(cls, params[section], section) for cls, section in
               ((ModelConfig, "model"), (FinetuneConfig, "finetune"), (LoraConfig, "lora"))}
    for key, value in preset_values.items():
        section, field = key.split(".")
        assert getattr(configs[section], field) == value, key


def preset_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "preset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, message", [
    ("lora:\n  rank: 8\n", "preset key 'lora.rank' is not a key of params.yaml"),
    ("model: tencent/HunyuanOCR\n", "preset key 'model' is not a key of params.yaml"),
    ("model:\n  quantization: 8bit\n", "model.quantization must be null or 4bit"),
    ("lora:\n  vision_tower: some\n", "lora.vision_tower must be one of"),
    ("launcher: accelerate launch\n", "preset key 'launcher': 'accelerate launch' holds a space"),
])
def test_a_bad_preset_stops_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        set_flags(preset_file(tmp_path, text), REPO / "params.yaml")


def test_the_command_prints_flags_or_the_error(tmp_path):
    printed = subprocess.run([sys.executable, "-m", "zhtw_subtitles.presets", str(preset_file(
        tmp_path, "lora:\n  target_modules: [q_proj, v_proj]\nfinetune:\n  learning_rate: 2.0e-5\n"))],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert shlex.split(printed) == printed.split() == [
        "-S", "lora.target_modules=[q_proj,v_proj]", "-S", "finetune.learning_rate=2.0e-05"]
    failed = subprocess.run([sys.executable, "-m", "zhtw_subtitles.presets", str(preset_file(tmp_path, "lora:\n  rank: 8\n"))],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("error: preset key 'lora.rank'")
