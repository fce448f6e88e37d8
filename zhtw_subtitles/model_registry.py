"""Which model `model.base` names: a built-in pretrained recogniser or a folder written by `save_pretrained`.

Nothing here touches the network: an unknown name fails at once with the valid choices.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .config import ConfigError
from .recognizer import ONNX_FILE, OnnxRecognizer, SubtitleRecognizer, pretrained_ppocr_v6_small

BUILT_IN: dict[str, Callable[[], SubtitleRecognizer]] = {
    "ppocr_v6_small": pretrained_ppocr_v6_small,
}
# The same networks as shipped, run by onnxruntime: what "before fine-tuning" reads, at full speed.
BUILT_IN_ONNX: dict[str, Callable[[], OnnxRecognizer]] = {
    "ppocr_v6_small": OnnxRecognizer.pretrained_ppocr_v6_small,
}


def load_base(name: str) -> SubtitleRecognizer:
    if name in BUILT_IN:
        return BUILT_IN[name]()
    folder = Path(name)
    if (folder / "config.json").is_file():
        return load_saved(folder)
    raise ConfigError(
        f"unknown model.base '{name}': use one of {sorted(BUILT_IN)} or a folder holding a saved model "
        "(config.json + model.safetensors); hub downloads are not possible offline"
    )


def load_saved(folder: Path) -> SubtitleRecognizer:
    folder = Path(folder)
    missing = [name for name in ("config.json", "model.safetensors") if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{folder} lacks {', '.join(missing)}: run `dvc repro finetune` (or `dvc pull`) first")
    return SubtitleRecognizer.from_pretrained(folder).eval()


def load_for_inference(name: str | Path) -> SubtitleRecognizer | OnnxRecognizer:
    """A built-in base or a saved folder, on onnxruntime where an ONNX file exists (faster on CPU), else torch."""
    if str(name) in BUILT_IN_ONNX:
        return BUILT_IN_ONNX[str(name)]()
    folder = Path(name)
    if (folder / ONNX_FILE).is_file() and (folder / "config.json").is_file():
        return OnnxRecognizer.from_folder(folder)
    return load_saved(folder) if folder.is_dir() else load_base(str(name))
