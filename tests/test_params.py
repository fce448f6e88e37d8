"""params.yaml is the one home of every default: each of its keys is read by some stage (so DVC re-runs that stage
when it changes), each key a stage lists exists, and each config dataclass holds exactly its section's keys."""
from __future__ import annotations

import dataclasses
import importlib
import re
import runpy

import pytest
import yaml

from zhtw_subtitles.core.config import ConfigError, StageParams, build, default_params, read_params, stage_params
from zhtw_subtitles.testing.dvc_repo import REPO
from zhtw_subtitles.text.corpora import CorpusSettings

DVC = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))
BUILD_CALL = re.compile(r"build\((\w+), [^\n]*?, \"([\w.]+)\"\)")  # build(RenderConfig, params["render"], "render")
CORPUS_KEYS = ("corpus_dir", "corpus_files", "corpus_mix")  # CorpusSettings: top-level keys, not a section


def key_paths(params: dict, prefix: str = "") -> list[str]:
    """Every key as a dotted path, nested ones included: render, render.background, render.background.scale..."""
    paths = []
    for key, value in params.items():
        paths.append(prefix + key)
        if isinstance(value, dict):
            paths += key_paths(value, f"{prefix}{key}.")
    return paths


def keys_read(dvc: dict) -> set[str]:
    """What the stages read: the params each lists, and the ${key}s that dvc.yaml interpolates (DVC tracks both)."""
    listed = {name for stage in dvc["stages"].values() for name in stage.get("params", [])}
    return listed | set(re.findall(r"\$\{([\w.]+)\}", yaml.safe_dump(dvc)))


def unread_keys(params: dict, dvc: dict) -> list[str]:
    read = keys_read(dvc)
    return [path for path in key_paths(params)
            if not any(path == name or path.startswith(name + ".") or name.startswith(path + ".") for name in read)]


def unknown_keys(params: dict, dvc: dict) -> list[str]:
    return sorted(keys_read(dvc) - set(key_paths(params)))


def built_configs() -> dict[str, type]:
    """{section: dataclass} of every `build(Class, ..., "section")` in the stages and the package."""
    configs = {}
    for path in sorted([*REPO.glob("stages/*.py"), *REPO.glob("zhtw_subtitles/**/*.py")]):
        calls = BUILD_CALL.findall(path.read_text(encoding="utf-8"))
        if calls:
            relative = path.relative_to(REPO).with_suffix("")
            namespace = (runpy.run_path(str(path)) if relative.parts[0] == "stages"
                         else vars(importlib.import_module(".".join(relative.parts))))
            configs.update({name: namespace[cls] for cls, name in calls})
    return configs


CONFIGS = built_configs()


def section(params: dict, name: str) -> dict:
    for part in name.split("."):
        params = params[part]
    return params


def test_every_key_of_params_yaml_is_read_by_a_stage():
    assert unread_keys(default_params(), DVC) == []


def test_every_key_a_stage_reads_is_in_params_yaml():
    assert unknown_keys(default_params(), DVC) == []
    for stage in DVC["stages"]:
        stage_params(stage, REPO / "params.yaml", REPO / "dvc.yaml")


def test_the_checks_catch_a_stray_and_a_missing_key():
    # A stray key inside a section is the dataclass test's to catch: the stage that lists the section reads it whole.
    params = default_params()
    assert unread_keys({**params, "stray": {"depth": 1}}, DVC) == ["stray", "stray.depth"]
    lacking = {key: value for key, value in params.items() if key != "crop"}
    lacking["infer"] = {key: value for key, value in params["infer"].items() if key != "batch_size"}
    assert unknown_keys(lacking, DVC) == ["crop", "infer.batch_size"]


def test_every_config_dataclass_is_found():
    assert {"render", "render.background", "sentences", "corpus_files", "json", "model", "finetune", "lora",
            "infer"} <= set(CONFIGS)


@pytest.mark.parametrize("name, cls", CONFIGS.items(), ids=list(CONFIGS))
def test_each_config_holds_exactly_the_keys_of_its_section_and_no_defaults(name, cls):
    values = section(default_params(), name)
    fields = dataclasses.fields(cls)
    assert sorted(f.name for f in fields) == sorted(values)
    assert [f.name for f in fields if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING] == []
    build(cls, values, name)
    with pytest.raises(ConfigError, match=f"params section '{name}' lacks key.*{fields[-1].name}"):
        build(cls, {key: value for key, value in values.items() if key != fields[-1].name}, name)


def test_corpus_settings_read_exactly_the_three_corpus_keys():
    params = default_params()
    settings = CorpusSettings.from_params(StageParams("test", {key: params[key] for key in CORPUS_KEYS}))
    assert str(settings.corpus_dir) == params["corpus_dir"] and dict(settings.mix) == params["corpus_mix"]
    assert sorted(f.name for f in dataclasses.fields(CorpusSettings)) == ["corpus_dir", "files", "mix"]
    for missing in CORPUS_KEYS:
        with pytest.raises(ConfigError, match=f"param '{missing}'"):
            CorpusSettings.from_params(StageParams("test", {key: params[key] for key in CORPUS_KEYS if key != missing}))


def test_params_read_numbers_as_dvc_writes_them(tmp_path):
    """`dvc exp run -S finetune.learning_rate=2e-5` writes 2e-05, a float in YAML 1.2 (DVC) but a string in YAML 1.1."""
    params = tmp_path / "params.yaml"
    params.write_text("finetune:\n  learning_rate: 2e-05\n  warmup_ratio: 1e-1\n  merge: false\n", encoding="utf-8")
    assert read_params(params) == {"finetune": {"learning_rate": 2e-05, "warmup_ratio": 0.1, "merge": False}}
