"""QLoRA (model.quantization: 4bit): which layers the 4-bit configuration quantises, merged weights folded into the
base in 16/32-bit and never into rounded weights, and, where CUDA and bitsandbytes exist, the 4-bit route itself."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from peft import PeftModel
from PIL import Image
from transformers import AutoModelForImageTextToText
from transformers.quantizers.quantizers_utils import should_convert_module

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_chat import AnswerOnlyCollator
from zhtw_subtitles.models.vlm_models import (
    LoraConfig,
    load_vlm,
    part_of,
    part_prefixes,
    prepare_for_training,
    quantization_config,
)
from zhtw_subtitles.testing.tiny_vlms import TINY_ARCHITECTURES, build_tiny_vlm
from zhtw_subtitles.training.finetune_vlm import save_vlm

TEXTS = ["明天見", "謝謝你 再見", "請辨認字幕"]
CUDA_AND_BITSANDBYTES = torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes") is not None


@pytest.fixture(scope="module", params=TINY_ARCHITECTURES)
def tiny(request, tmp_path_factory):
    return build_tiny_vlm(request.param, tmp_path_factory.mktemp(request.param) / "model", TEXTS, seed=0)


def qlora_config(folder) -> ModelConfig:
    return default_config(ModelConfig, "model", base=str(folder), quantization="4bit")


def test_4bit_quantises_the_language_models_linear_layers_and_nothing_else(tiny):
    """The configuration the 4-bit load is given, checked with transformers' own test of which modules to skip."""
    config = quantization_config(str(tiny), trust_remote_code=False, dtype=torch.bfloat16)
    assert (config.load_in_4bit, config.bnb_4bit_quant_type, config.bnb_4bit_use_double_quant) == (True, "nf4", True)
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    model = AutoModelForImageTextToText.from_pretrained(tiny)
    prefixes = part_prefixes(model)
    linears = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    quantised = {name for name in linears if should_convert_module(name, config.llm_int8_skip_modules)}
    assert quantised and all(part_of(name, prefixes) == "language_model" for name in quantised)
    assert prefixes["output_head"] not in quantised
    kept = {part_of(name, prefixes) for name in set(linears) - quantised}
    assert {"vision_tower", "projector"} <= kept


def adapted(folder):
    """The tiny model with LoRA whose B matrices are random, so that merging changes the weights."""
    model, processor = load_vlm(str(folder), default_config(ModelConfig, "model", base=str(folder)), None,
                                for_training=True)
    model.name_or_path = str(folder)
    model = prepare_for_training(model, default_config(LoraConfig, "lora", r=4, alpha=8))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.1)
    return model, processor


def test_merged_weights_fold_the_adapter_into_the_unrounded_base_and_load_without_bitsandbytes(tmp_path):
    folder = build_tiny_vlm("llava", tmp_path / "base", TEXTS, seed=0)
    model, processor = adapted(folder)
    with torch.no_grad():  # what 4-bit loading does to the base weights in memory: rounds them
        for name, parameter in model.named_parameters():
            if "base_layer" in name:
                parameter.copy_(torch.round(parameter * 8) / 8)
    save_vlm(model, processor, tmp_path / "out", TEXTS, merge_onto=(str(folder), qlora_config(folder)))

    assert "quantization_config" not in json.loads((tmp_path / "out/merged/config.json").read_text())
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "out/merged").state_dict()  # plain transformers
    base = AutoModelForImageTextToText.from_pretrained(folder)
    base_weights = {name: value.clone() for name, value in base.state_dict().items()}
    expected = PeftModel.from_pretrained(base, tmp_path / "out").merge_and_unload().state_dict()
    assert merged.keys() == expected.keys()
    assert all(torch.allclose(merged[name], expected[name], atol=1e-6) for name in merged)
    assert any(not torch.equal(merged[name], base_weights[name]) for name in merged)  # the adapter was folded in


@pytest.mark.skipif(not CUDA_AND_BITSANDBYTES, reason="4-bit loading needs a CUDA GPU and bitsandbytes")
def test_qlora_loads_4bit_trains_and_merges_into_16_bit(tmp_path):
    import bitsandbytes

    folder = build_tiny_vlm("qwen2_vl", tmp_path / "base", TEXTS, seed=0)
    model, processor = load_vlm(str(folder), qlora_config(folder), torch.bfloat16, for_training=True)
    prefixes = part_prefixes(model)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name != prefixes["output_head"]:
            assert isinstance(module, bitsandbytes.nn.Linear4bit) == (part_of(name, prefixes) == "language_model")
    model.name_or_path = str(folder)
    model = prepare_for_training(model, default_config(LoraConfig, "lora", r=4, alpha=8))
    batch = AnswerOnlyCollator(processor)([{"image": Image.new("RGB", (640, 126)), "prompt": "讀", "answer": text}
                                           for text in TEXTS[:2]])
    loss = model(**batch.to(model.device).to(torch.bfloat16)).loss  # the dtype cast touches float tensors only
    loss.backward()
    assert torch.isfinite(loss) and any(p.grad is not None for n, p in model.named_parameters() if "lora_" in n)
    save_vlm(model, processor, tmp_path / "out", TEXTS, merge_onto=(str(folder), qlora_config(folder)))
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "out/merged")
    assert not any(isinstance(module, bitsandbytes.nn.Linear4bit) for module in merged.modules())
