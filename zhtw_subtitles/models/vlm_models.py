"""Loads a VLM for training and decides what of it learns: the language model, the vision tower and the projector
are each frozen, adapted with LoRA (peft), or fully trained, whatever the architecture calls them.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoProcessor,
    BitsAndBytesConfig,
    ProcessorMixin,
)
from transformers.models.auto.processing_auto import processor_class_from_name

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.models.registry import SUBTITLE_VLM, ModelConfig, resolve_vlm

MERGED_DIR = "merged"  # LoRA folded into the weights: loads without peft

MODES = ("frozen", "lora", "full")
# What architectures call the layers between the vision tower and the language model (Qwen2/3-VL keep their
# `merger`s, HunYuanVL its `patch_merger` inside the vision tower: they still count as the projector).
PROJECTOR_NAMES = ("multi_modal_projector", "connector", "merger", "deepstack_merger_list", "patch_merger", "projector",
                   "mlp1", "resampler", "mm_projector", "vision_projection")


@dataclass(frozen=True)
class LoraConfig:
    """The `lora` params."""
    r: int
    alpha: int
    dropout: float
    # Linear layers adapted in the parts set to "lora": "all-linear", or names such as [q_proj, v_proj].
    target_modules: str | tuple[str, ...]
    language_model: str  # frozen | lora | full
    vision_tower: str
    projector: str

    def __post_init__(self) -> None:
        require(self.r > 0 and self.alpha > 0, "lora.r and lora.alpha must be > 0")
        require(0.0 <= self.dropout < 1.0, "lora.dropout must lie in [0, 1)")
        for part in ("language_model", "vision_tower", "projector"):
            require(getattr(self, part) in MODES, f"lora.{part} must be one of {MODES}, got {getattr(self, part)!r}")


def image_only(processor_class: type[ProcessorMixin]) -> type[ProcessorMixin]:
    """`processor_class` without its video processor, under the same name (so saved folders keep naming the real
    class). Video processors need torchvision, which does not install beside torch 2.13; images never use them."""
    attributes = [name for name in processor_class.get_attributes() if name != "video_processor"]
    return type(processor_class.__name__, (processor_class,), {"get_attributes": classmethod(lambda cls: attributes)})


def load_processor(path: str, trust_remote_code: bool) -> ProcessorMixin:
    """AutoProcessor, or without torchvision the image-only form of the processor class the folder names."""
    config = Path(path) / "processor_config.json"
    name = json.loads(config.read_text(encoding="utf-8")).get("processor_class") if config.is_file() else None
    named = processor_class_from_name(name) if name else None
    if named is not None and "video_processor" in named.get_attributes() and importlib.util.find_spec("torchvision") is None:
        return image_only(named).from_pretrained(path, local_files_only=True)
    return AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code, local_files_only=True)


def device() -> torch.device:
    """This process's device: under torchrun or accelerate each process has its own GPU (LOCAL_RANK)."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def quantization_config(path: str, trust_remote_code: bool, dtype: torch.dtype | None) -> BitsAndBytesConfig:
    """4-bit NF4 for QLoRA: the language model's linear layers only. The vision tower, the projector and the output
    head stay in `dtype`; they are named by their full paths in this architecture (read off a weightless copy of
    the model), as transformers matches the names to skip from the start of a module's path or as its suffix."""
    model_config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code, local_files_only=True)
    with torch.device("meta"):
        skeleton = AutoModelForImageTextToText.from_config(model_config, trust_remote_code=trust_remote_code)
    prefixes = part_prefixes(skeleton)
    kept = [prefixes["vision_tower"], *part_roots(skeleton, "projector", prefixes), prefixes["output_head"]]
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=dtype or torch.bfloat16,
                              llm_int8_skip_modules=[name for name in kept if name])


def load_vlm(path: str, config: ModelConfig, dtype: torch.dtype | None, for_training: bool,
             processor_path: str | None = None, on: torch.device | None = None):
    """(model, processor) from a local folder, the processor from `processor_path` when given, the model on `on`
    (default: this process's device); 4-bit NF4 weights when `config.quantization` asks for QLoRA."""
    on = on or device()
    kwargs = {"trust_remote_code": config.trust_remote_code, "local_files_only": True}
    if config.quantization == "4bit":
        if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError("model.quantization=4bit (QLoRA) needs a CUDA GPU and `pip install bitsandbytes`; "
                              "set model.quantization to null to train without it")
        kwargs["quantization_config"] = quantization_config(path, config.trust_remote_code, dtype)
    if on.type == "cuda":
        kwargs["device_map"] = {"": on}  # loaded straight onto this process's GPU, not every process onto GPU 0
    importlib.import_module(".subtitle_vlm", __package__)  # registers the built-in VLM's classes with the Auto* maps
    try:
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype or torch.float32, **kwargs)
        processor = load_processor(processor_path or path, config.trust_remote_code)
    except ValueError as error:
        if "trust_remote_code" in str(error) and not config.trust_remote_code:
            raise ConfigError(f"model.base '{config.base}' ships its own code: set model.trust_remote_code=true "
                              "if you trust it") from None
        raise
    if config.quantization == "4bit" and for_training:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model, processor


def part_of(name: str, prefixes: dict[str, str]) -> str | None:
    """Which part a module of this full name belongs to: the projector wins over the vision tower around it."""
    if any(component in PROJECTOR_NAMES for component in name.split(".")):
        return "projector"
    for part in ("vision_tower", "language_model", "output_head"):
        prefix = prefixes[part]
        if prefix and (name == prefix or name.startswith(prefix + ".")):
            return "language_model" if part == "output_head" else part
    return None


def part_prefixes(model: nn.Module) -> dict[str, str]:
    names = {id(module): name for name, module in model.named_modules()}
    return {
        "vision_tower": names.get(id(model.get_encoder(modality="image")), ""),
        "language_model": names.get(id(model.get_decoder()), ""),
        "output_head": names.get(id(model.get_output_embeddings()), ""),
    }


def part_roots(model: nn.Module, part: str, prefixes: dict[str, str]) -> list[str]:
    """The outermost modules of a part: what `modules_to_save` names to train it fully (the members of a module
    list, such as Qwen3-VL's deepstack mergers, rather than the list, which peft cannot wrap)."""
    roots: list[str] = []
    for name, module in model.named_modules():
        if (name and part_of(name, prefixes) == part and not isinstance(module, (nn.ModuleList, nn.ModuleDict))
                and not any(name.startswith(root + ".") for root in roots)):
            roots.append(name)
    return roots


def lora_targets(model: nn.Module, config: LoraConfig, prefixes: dict[str, str]) -> list[str]:
    wanted = {part for part in ("language_model", "vision_tower", "projector") if getattr(config, part) == "lora"}
    names = None if config.target_modules == "all-linear" else set(config.target_modules)
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and part_of(name, prefixes) in wanted and name != prefixes["output_head"]
            and (names is None or name.rsplit(".", 1)[-1] in names)]


def prepare_for_training(model: nn.Module, config: LoraConfig) -> nn.Module:
    """A peft model when any part uses LoRA; otherwise the model itself with only the `full` parts trainable."""
    prefixes = part_prefixes(model)
    full_roots = [root for part in ("language_model", "vision_tower", "projector")
                  if getattr(config, part) == "full" for root in part_roots(model, part, prefixes)]
    targets = lora_targets(model, config, prefixes)
    if not targets:
        require(bool(full_roots), "lora: every part is frozen, nothing would learn; set lora.language_model to lora")
        model.requires_grad_(False)
        for root in full_roots:
            model.get_submodule(root).requires_grad_(True)
        return model
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    peft_config = PeftLoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                                 target_modules=targets, modules_to_save=full_roots or None)
    return get_peft_model(model, peft_config)


def inference_dtype() -> torch.dtype:
    return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32


def load_trained_vlm(folder: Path, config: ModelConfig):
    """(model, processor) written by the finetune stage: merged weights when present (16/32-bit, never
    quantised), else the adapter on model.base, which this machine resolves (its own Hugging Face cache)."""
    folder = Path(folder)
    if (folder / MERGED_DIR).is_dir():
        return load_vlm(str(folder / MERGED_DIR), replace(config, quantization=None), inference_dtype(), for_training=False)
    adapter = folder / "adapter_config.json"
    if not adapter.is_file():
        return load_vlm(str(folder), config, inference_dtype(), for_training=False)
    from peft import PeftModel

    base = json.loads(adapter.read_text(encoding="utf-8"))["base_model_name_or_path"]
    if base != config.base:
        raise ConfigError(f"{folder} holds an adapter trained on '{base}', but model.base is '{config.base}': set "
                          "model.base back, or re-run `dvc repro finetune`")
    model, processor = load_vlm(resolve_vlm(base), config, inference_dtype(), for_training=False,
                                processor_path=str(folder))
    return PeftModel.from_pretrained(model, folder), processor


def write_merged(folder: Path, base_path: str, config: ModelConfig) -> None:
    """`folder/merged`: the adapter saved in `folder` folded into the base loaded afresh in 16/32-bit on the CPU.
    Never into 4-bit weights (QLoRA): their rounding would stay in the merged ones, and loading them would need
    bitsandbytes. `merged/` loads with plain transformers."""
    from peft import PeftModel

    base, _ = load_vlm(base_path, replace(config, quantization=None), inference_dtype(), for_training=False,
                       on=torch.device("cpu"))
    PeftModel.from_pretrained(base, folder).merge_and_unload().save_pretrained(Path(folder) / MERGED_DIR)


def load_base_vlm(config: ModelConfig, texts: list[str], seed: int, scratch: Path, dtype: torch.dtype | None,
                  for_training: bool = True):
    """(model, processor, path): the built-in subtitle_vlm_cpu is built in `scratch` (its tokenizer also holds every
    character of `texts`); any other base is resolved to a local folder and loaded. The model is named by model.base as given
    (a hub id, not this machine's cache path), so that an adapter trained on it records that name."""
    if config.base == SUBTITLE_VLM:
        from zhtw_subtitles.models.subtitle_vlm import build_subtitle_vlm

        path = str(build_subtitle_vlm(Path(scratch) / SUBTITLE_VLM, sorted({c for text in texts for c in text}), seed))
    else:
        path = resolve_vlm(config.base)
    model, processor = load_vlm(path, config, dtype, for_training)
    model.name_or_path = config.base
    return model, processor, path
