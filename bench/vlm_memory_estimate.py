"""GPU memory that LoRA (bf16) and QLoRA (4-bit) fine-tuning of candidate bases need on the subtitle band, estimated
from their published shapes (built weightless on the meta device, nothing downloaded) and written to
bench/results/vlm_memory_estimate.json. Estimates, not measurements: bench/vlm_throughput.py measures two of them.

Per model: parameters P (V of them in the vision tower), Q in the language model's linear layers (what 4-bit
quantises), T trainable (LoRA r on those layers, plus the projector trained fully: the default `lora` params).
- weights and training state, bf16 LoRA: 2 B per weight + 16 B per trainable parameter (fp32 adapter, its
  gradient and two AdamW moments);
- the same, QLoRA: 0.52 B per quantised weight (NF4 with double quantisation), 4 B per other weight (peft's
  prepare_model_for_kbit_training keeps them in fp32), + 16 B per trainable parameter;
- activations, with activation checkpointing: each layer's input kept (2 B per token and width, text and vision
  layers), and the logits over the vocabulary for every token (bf16, their fp32 copy for the loss and its gradient:
  12 B per token and vocabulary entry), which dominate.
Tokens per band: its pixels over the (patch x merge)^2 of the architecture, plus the prompt and answer.
Usage: python bench/vlm_memory_estimate.py [--batch-size 8] [--band 1920x378] [--max-pixels 300000] [--lora-r 16]
"""
from __future__ import annotations

import argparse

import torch
from results import write_results
from transformers import (
    AutoModelForImageTextToText,
    GlmOcrConfig,
    HunYuanVLConfig,
    PaddleOCRVLConfig,
    PretrainedConfig,
    Qwen2_5_VLConfig,
    Qwen2VLConfig,
    Qwen3VLConfig,
)

from zhtw_subtitles.models.vlm_models import part_of, part_prefixes, part_roots
from zhtw_subtitles.testing.tiny_vlms import HUNYUAN_OCR_1B, QWEN2_VL_2B

TEXT_TOKENS = 60  # the study's instruction, the chat markup and a subtitle
GIB = 2**30
QWEN3_ROPE = {"rope_type": "default", "rope_theta": 5e6, "mrope_section": [24, 20, 20], "mrope_interleaved": True}


def qwen3_vl(hidden: int, layers: int, intermediate: int, heads: int) -> Qwen3VLConfig:
    """Qwen3-VL-2B/4B-Instruct's config.json as published, written from memory; their totals come to the published
    2.1B and 4.4B parameters."""
    return Qwen3VLConfig(
        text_config={"vocab_size": 151936, "hidden_size": hidden, "intermediate_size": intermediate,
                     "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": 8,
                     "head_dim": 128, "tie_word_embeddings": True, "rope_parameters": QWEN3_ROPE},
        vision_config={"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
                       "out_hidden_size": hidden, "deepstack_visual_indexes": [5, 11, 17]},
        tie_word_embeddings=True)


# name: (hub id, config, pixels per image token, image tokens added per row); the shapes' sources are in the notes.
CANDIDATES: dict[str, tuple[str, PretrainedConfig, int, int]] = {
    "HunyuanOCR": ("tencent/HunyuanOCR", HunYuanVLConfig(text_config=HUNYUAN_OCR_1B["text"],
                                                         vision_config=HUNYUAN_OCR_1B["vision"]), 32, 1),
    "PaddleOCR-VL": ("PaddlePaddle/PaddleOCR-VL", PaddleOCRVLConfig(), 28, 0),
    "GLM-OCR": ("zai-org/GLM-OCR", GlmOcrConfig(), 28, 0),
    "Qwen3-VL-2B": ("Qwen/Qwen3-VL-2B-Instruct", qwen3_vl(2048, 28, 6144, 16), 32, 0),
    "Qwen3-VL-4B": ("Qwen/Qwen3-VL-4B-Instruct", qwen3_vl(2560, 36, 9728, 32), 32, 0),
    "Qwen2-VL-2B": ("Qwen/Qwen2-VL-2B-Instruct", Qwen2VLConfig(text_config=QWEN2_VL_2B["text"],
                                                               vision_config=QWEN2_VL_2B["vision"]), 28, 0),
    "Qwen2.5-VL-3B": ("Qwen/Qwen2.5-VL-3B-Instruct", Qwen2_5_VLConfig(
        text_config={"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
                     "num_attention_heads": 16, "num_key_value_heads": 2, "tie_word_embeddings": True,
                     "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}},
        vision_config={"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                       "out_hidden_size": 2048, "fullatt_block_indexes": [7, 15, 23, 31]},
        tie_word_embeddings=True), 28, 0),
}
NOTES = {
    "HunyuanOCR": "shape of tencent/HunyuanOCR's config.json as candle-transformers' port reads it (tiny_vlms.py)",
    "PaddleOCR-VL": "transformers' PaddleOCRVLConfig defaults (documented as PaddlePaddle/PaddleOCR-VL's); the "
                    "authors call it 0.9B",
    "GLM-OCR": "transformers' GlmOcrConfig defaults (documented as zai-org/GLM-OCR's); the authors call it 0.9B",
    "Qwen3-VL-2B": "published config.json, written from memory", "Qwen3-VL-4B": "published config.json, from memory",
    "Qwen2-VL-2B": "published config.json (tiny_vlms.py)",
    "Qwen2.5-VL-3B": "published config.json, written from memory (3.75B published)",
}


def counts(config: PretrainedConfig, lora_r: int) -> dict[str, int]:
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    prefixes = part_prefixes(model)
    linears = [(name, module) for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and part_of(name, prefixes) == "language_model"
               and name != prefixes["output_head"]]
    projector = sum(p.numel() for root in part_roots(model, "projector", prefixes)
                    for p in model.get_submodule(root).parameters())
    text = config.get_text_config()
    vision = model.get_submodule(prefixes["vision_tower"]).config
    return {"parameters": sum(p.numel() for p in model.parameters()),
            "vision": sum(p.numel() for p in model.get_submodule(prefixes["vision_tower"]).parameters()),
            "quantised": sum(m.weight.numel() for _, m in linears),
            "trainable": sum(lora_r * (m.in_features + m.out_features) for _, m in linears) + projector,
            "vocabulary": text.vocab_size, "text_width": text.hidden_size, "text_layers": text.num_hidden_layers,
            "vision_width": vision.hidden_size,
            "vision_layers": getattr(vision, "depth", None) or vision.num_hidden_layers}


def estimate(shape: dict[str, int], batch: int, image_tokens: int, vision_patches: int) -> dict[str, float]:
    tokens = image_tokens + TEXT_TOKENS
    activations = batch * (2 * tokens * shape["text_width"] * shape["text_layers"]
                           + 2 * vision_patches * shape["vision_width"] * shape["vision_layers"]
                           + 12 * tokens * shape["vocabulary"])
    lora = 2 * shape["parameters"] + 16 * shape["trainable"]
    qlora = 0.52 * shape["quantised"] + 4 * (shape["parameters"] - shape["quantised"]) + 16 * shape["trainable"]
    return {"tokens_per_sample": tokens, "activations_gib": round(activations / GIB, 1),
            "lora_bf16_gib": round((lora + activations) / GIB, 1), "qlora_4bit_gib": round((qlora + activations) / GIB, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--band", default="1920x378", help="the band's size before model.max_pixels")
    parser.add_argument("--max-pixels", type=int, default=300000)
    parser.add_argument("--lora-r", type=int, default=16)
    args = parser.parse_args()
    width, height = map(int, args.band.split("x"))
    pixels = min(width * height, args.max_pixels)
    rows = {}
    print(f"{'base':14s} {'params':>7s} {'vision':>7s} {'4-bit':>7s} {'train':>6s} {'tokens':>6s} "
          f"{'LoRA bf16':>10s} {'QLoRA':>7s}  (GiB, estimated; batch {args.batch_size}, {args.band} band capped at "
          f"{args.max_pixels} px)")
    for name, (hub_id, config, token_pixels, per_row) in CANDIDATES.items():
        shape = counts(config, args.lora_r)
        rows_of_tokens = round(height * (pixels / (width * height)) ** 0.5 / token_pixels)
        image_tokens = pixels // token_pixels**2 + per_row * rows_of_tokens + 2 * per_row
        figures = estimate(shape, args.batch_size, image_tokens, vision_patches=pixels * 4 // token_pixels**2)
        rows[name] = {"hub_id": hub_id, "shape_from": NOTES[name], **shape, **figures}
        print(f"{name:14s} {shape['parameters'] / 1e9:6.2f}B {shape['vision'] / 1e9:6.2f}B "
              f"{shape['quantised'] / 1e9:6.2f}B {shape['trainable'] / 1e6:5.0f}M {figures['tokens_per_sample']:6d} "
              f"{figures['lora_bf16_gib']:10.1f} {figures['qlora_4bit_gib']:7.1f}")
    write_results("vlm_memory_estimate", {"kind": "estimated from parameter counts, not measured",
                                          "batch_size": args.batch_size, "band": args.band,
                                          "max_pixels": args.max_pixels, "lora_r": args.lora_r, "bases": rows})


if __name__ == "__main__":
    main()
