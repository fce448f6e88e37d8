"""Reads `params.yaml` sections into frozen dataclasses and rejects keys that no stage knows."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml import YAML

PARAMS_FILE = Path("params.yaml")
DVC_FILE = Path("dvc.yaml")
REPO_PARAMS = Path(__file__).resolve().parents[2] / PARAMS_FILE
T = TypeVar("T")


class ConfigError(ValueError):
    """A parameter is missing, unknown or out of range; the message says which and how to fix it."""


def read_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path} not found: run the stage from the repository root, where params.yaml lives")
    return load_yaml(path.read_text(encoding="utf-8")) or {}


def load_yaml(text: str) -> Any:
    """YAML read as DVC reads params.yaml (YAML 1.2, ruamel): `2e-05`, as `dvc exp run -S` writes a learning rate,
    is a float here too, where PyYAML's YAML 1.1 would make it a string."""
    return YAML(typ="safe", pure=True).load(text)


class StageParams(dict):
    """The params a stage lists in dvc.yaml, and no others: reading an unlisted key is an error, since DVC would not
    re-run the stage when it changes."""

    def __init__(self, stage: str, values: dict[str, Any], prefix: str = ""):
        super().__init__(values)
        self.stage = stage
        self.prefix = prefix  # "infer." for the part of a section that the stage lists key by key

    def __missing__(self, key: str) -> Any:
        raise ConfigError(f"stage '{self.stage}' reads param '{self.prefix}{key}', which dvc.yaml does not list under "
                          f"its params: add it there")

    def get(self, key: str, default: Any = None) -> Any:
        # A default would hide an unlisted or missing key, the very fault this class is here to catch.
        return self[key]


def stage_params(stage: str, params_path: Path = PARAMS_FILE, dvc_path: Path = DVC_FILE) -> StageParams:
    """The values of the params that `stage` lists in dvc.yaml ("seed", "render", "infer.batch_size"), read from
    params.yaml; a listed key missing from params.yaml is an error that names it."""
    if not dvc_path.exists():
        raise ConfigError(f"{dvc_path} not found: run the stage from the repository root")
    stages = (load_yaml(dvc_path.read_text(encoding="utf-8")) or {}).get("stages", {})
    if stage not in stages:
        raise ConfigError(f"{dvc_path} has no stage '{stage}'; its stages: {sorted(stages)}")
    params = read_params(params_path)
    chosen: dict[str, Any] = {}
    for name in stages[stage].get("params", []):
        value, target = params, chosen
        *parents, leaf = name.split(".")
        for depth, part in enumerate([*parents, leaf]):
            if not isinstance(value, dict) or part not in value:
                raise ConfigError(f"{params_path} has no key '{'.'.join([*parents, leaf][:depth + 1])}', which stage "
                                  f"'{stage}' reads: add it (see docs/params.md)")
            value = value[part]
        for depth, part in enumerate(parents):
            target = target.setdefault(part, StageParams(stage, {}, ".".join(parents[:depth + 1]) + "."))
        target[leaf] = value
    return StageParams(stage, chosen)


def build(cls: type[T], values: dict[str, Any] | None, section: str) -> T:
    """Make `cls` from a params section: params.yaml holds every default, so unknown and missing keys are errors."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in params section '{section}'; valid keys: {sorted(fields)}"
        )
    missing = sorted(set(fields) - set(values))
    if missing:
        raise ConfigError(f"params section '{section}' lacks key(s) {missing}: add them to params.yaml")
    converted = {k: _as_field_type(v) for k, v in values.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"params section '{section}': {error}") from error


def default_params() -> dict[str, Any]:
    """The repository's params.yaml, the one home of every default. For tests and benches: stages read theirs
    through stage_params, from the params.yaml of the repository they run in."""
    return read_params(REPO_PARAMS)


def default_config(cls: type[T], section: str, **overrides: Any) -> T:
    """`cls` built from the repository's params.yaml section `section` ("render", "render.background") with
    `overrides` replacing some of its keys."""
    values = default_params()
    for part in section.split("."):
        values = values[part]
    return build(cls, {**values, **overrides}, section)


def _as_field_type(value: Any) -> Any:
    # YAML lists become tuples so that configs stay hashable and immutable.
    if isinstance(value, list):
        return tuple(_as_field_type(v) for v in value)
    return value


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def run_stage(main) -> None:
    """Run a stage's main(); a ConfigError ends it with its message and exit status 1, not a traceback."""
    try:
        main()
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None


def parse_crop(value) -> tuple[float, float, float, float] | None:
    """The top-level `crop` param: (left, top, right, bottom) fractions of the frame, or null for the whole frame."""
    if value is None:
        return None
    try:
        left, top, right, bottom = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"crop must be [left, top, right, bottom] fractions or null, got {value!r}") from None
    require(0 <= left < right <= 1 and 0 <= top < bottom <= 1,
            f"crop {list(value)} must satisfy 0 <= left < right <= 1 and 0 <= top < bottom <= 1")
    return left, top, right, bottom
