"""A preset (presets/*.yaml: some params.yaml keys, nested as there) as the `-S key=value` flags of `dvc exp run`:

    dvc exp run -n hunyuan-ocr $(python -m zhtw_subtitles.presets presets/recommended.yaml)

Every key must exist in params.yaml and every value must pass its section's checks (the same config classes the
stages build), so a typo or a bad value stops here instead of on a GPU box. The shell splits the printed flags at
spaces, so a value may hold none.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

from zhtw_subtitles.core.config import PARAMS_FILE, ConfigError, build, load_yaml, read_params


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{"lora": {"r": 8}} -> {"lora.r": 8}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def applied(params: dict, preset: dict[str, Any]) -> dict:
    """`params` with the preset's dotted keys set; a key params.yaml does not hold is an error naming it."""
    result = copy.deepcopy(params)
    for key, value in preset.items():
        *parents, leaf = key.split(".")
        target = result
        for part in parents:
            target = target.get(part) if isinstance(target, dict) else None
        if not isinstance(target, dict) or leaf not in target or isinstance(target[leaf], dict):
            raise ConfigError(f"preset key '{key}' is not a key of params.yaml: check its spelling in docs/params.md")
        target[leaf] = value
    return result


def check_sections(params: dict) -> None:
    """Build the config of every section a VLM run reads, as the finetune stage does."""
    from zhtw_subtitles.models.registry import ModelConfig
    from zhtw_subtitles.models.vlm_models import LoraConfig
    from zhtw_subtitles.training.trainer import FinetuneConfig

    for cls, section in ((ModelConfig, "model"), (FinetuneConfig, "finetune"), (LoraConfig, "lora")):
        build(cls, params[section], section)


def flag_value(key: str, value: Any) -> str:
    """`value` as YAML that DVC reads back as the same value (lists in flow form, without spaces)."""
    if isinstance(value, list):
        return "[" + ",".join(flag_value(key, item) for item in value) + "]"
    text = yaml.safe_dump(value).removesuffix("...\n").strip()
    if any(c.isspace() for c in text):
        raise ConfigError(f"preset key '{key}': {text!r} holds a space, which `$(...)` would split; pass it by hand "
                          f"with -S '{key}=...'")
    return text


def set_flags(preset_file: Path, params_file: Path = PARAMS_FILE) -> list[str]:
    """The `-S key=value` arguments that apply `preset_file` to the params of `params_file`."""
    preset = flatten(load_yaml(Path(preset_file).read_text(encoding="utf-8")) or {})
    check_sections(applied(read_params(params_file), preset))
    return [part for key, value in preset.items() for part in ("-S", f"{key}={flag_value(key, value)}")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", type=Path, help="a presets/*.yaml file")
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="the params.yaml the preset applies to")
    args = parser.parse_args(argv)
    try:
        print(" ".join(set_flags(args.preset, args.params)))
    except ConfigError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
