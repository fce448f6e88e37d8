"""Reads `params.yaml` sections into frozen dataclasses and rejects keys that no stage knows."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

PARAMS_FILE = Path("params.yaml")
T = TypeVar("T")


class ConfigError(ValueError):
    """A parameter is missing, unknown or out of range; the message says which and how to fix it."""


def read_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path} not found: run the stage from the repository root, where params.yaml lives")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def build(cls: type[T], values: dict[str, Any] | None, section: str) -> T:
    """Make `cls` from a params section; unknown keys are an error, missing keys take the defaults."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in params section '{section}'; valid keys: {sorted(fields)}"
        )
    converted = {k: _as_field_type(v) for k, v in values.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"params section '{section}': {error}") from error


def _as_field_type(value: Any) -> Any:
    # YAML lists become tuples so that configs stay hashable and immutable.
    if isinstance(value, list):
        return tuple(_as_field_type(v) for v in value)
    return value


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def run_stage(main) -> None:
    """Run a stage's main(); a ConfigError ends it with its message and exit code 2, not a traceback."""
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
