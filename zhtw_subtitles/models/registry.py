"""Which model `model.base` names: a built-in pretrained recogniser, the built-in CPU-sized VLM, a folder written by
`save_pretrained`, or a Hugging Face hub id of any model that `AutoModelForImageTextToText` + `AutoProcessor` load.

A hub id is read from the local Hugging Face cache of the machine doing the loading (hub_cache.py); only when it is
missing there is the hub asked, and an unreachable hub fails at once with what to do, instead of waiting on timeouts.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.models.recognizer import (
    ONNX_FILE,
    PROCESSOR_FILE,
    OnnxRecognizer,
    SubtitleRecognizer,
    pretrained_ppocr_v6_small,
)

BUILT_IN: dict[str, Callable[[], SubtitleRecognizer]] = {
    "ppocr_v6_small": pretrained_ppocr_v6_small,
}
# The same networks as shipped, run by onnxruntime: what "before fine-tuning" reads, at full speed.
BUILT_IN_ONNX: dict[str, Callable[[], OnnxRecognizer]] = {
    "ppocr_v6_small": OnnxRecognizer.pretrained_ppocr_v6_small,
}
# A small LLaVA-style VLM built on the spot (see subtitle_vlm.py): the recogniser's encoder as its vision tower.
SUBTITLE_VLM = "subtitle_vlm_cpu"
QUANTIZATIONS = (None, "4bit")


@dataclass(frozen=True)
class ModelConfig:
    """The `model` params."""
    base: str
    trust_remote_code: bool  # let a hub model run its own code (TinyLLaVA, MiniCPM-V need it)
    max_pixels: int | None  # VLMs: shrink each image (after the crop) to at most this many pixels
    quantization: str | None  # VLMs: "4bit" loads the base in NF4 for QLoRA (CUDA + bitsandbytes)

    def __post_init__(self) -> None:
        require(self.quantization in QUANTIZATIONS, f"model.quantization must be null or 4bit, got {self.quantization!r}")
        require(self.max_pixels is None or self.max_pixels >= 28 * 28, "model.max_pixels must be null or >= 784")


def is_ctc_recognizer(name: str | Path) -> bool:
    """True for the built-in recogniser and folders holding it; every other model is read as a VLM."""
    if str(name) in BUILT_IN:
        return True
    config = Path(name) / "config.json"
    model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type") if config.is_file() else None
    return model_type == SubtitleRecognizer.config_class.model_type


def load_base(name: str) -> SubtitleRecognizer:
    if name in BUILT_IN:
        return BUILT_IN[name]()
    folder = Path(name)
    if (folder / "config.json").is_file():
        return load_saved(folder)
    raise ConfigError(
        f"unknown model.base '{name}': use one of {sorted(BUILT_IN)} or a folder holding a saved model "
        f"(config.json + model.safetensors + {PROCESSOR_FILE}); hub downloads are not possible offline"
    )


def load_saved(folder: Path) -> SubtitleRecognizer:
    folder = Path(folder)
    missing = [name for name in ("config.json", "model.safetensors", PROCESSOR_FILE) if not (folder / name).is_file()]
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


def load_line_finder(folder: str | Path, threads: int = 0):
    """The learned line finder that the `finetune_line_finder` stage saved in `folder` (models/line_finder): a
    `reading.line_finder.LineFinder` running on `threads` threads (0: every core)."""
    from zhtw_subtitles.models.line_detector import load_line_finder as load_saved_line_finder  # torch: only when used

    return load_saved_line_finder(folder, threads)


def resolve_vlm(name: str) -> str:
    """A local folder for `name`: itself when it is a folder, else the hub snapshot (cached or downloaded)."""
    if Path(name).is_dir():
        return name
    if name.count("/") != 1 or name.startswith(("/", ".")):
        raise ConfigError(
            f"unknown model.base '{name}': use one of {sorted([*BUILT_IN, SUBTITLE_VLM])}, a folder written by "
            "save_pretrained, or a Hugging Face hub id such as Qwen/Qwen2-VL-2B-Instruct"
        )
    from zhtw_subtitles.models.hub_cache import hub_snapshot

    return hub_snapshot(name)
