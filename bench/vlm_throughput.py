"""LoRA training throughput of a VLM at full frames against the subtitle band: samples/s and peak GPU memory, both
measured in the same run on the same random-initialised model (nothing is downloaded).

Default: Qwen2-VL-2B-Instruct's published shape in bf16 on a CUDA GPU (see tiny_vlms.QWEN2_VL_2B), 1280x720
frames against their band (crop [0, 0.65, 1, 1]: 1280x252). `--architecture qwen2_vl` runs the tiny shape on a
CPU, which only checks that the script works.
Usage: python bench/vlm_throughput.py [--architecture qwen2_vl_2b] [--steps 10] [--batch-size 4]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from results import write_results

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_chat import AnswerOnlyCollator, shrink
from zhtw_subtitles.models.vlm_models import LoraConfig, load_vlm, prepare_for_training
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm
from zhtw_subtitles.training.trainer import half_precision

PROMPT = "請辨認圖片中央底部的白色字幕，然後回傳該字幕的內容。"
ANSWER = "今天天氣很好 我們去公園散步吧"
FRAME = (1280, 720)
BAND_TOP = 0.65


def samples_per_s(model, batch: dict, steps: int) -> tuple[float, float | None]:
    """(samples/s, peak GPU GiB or None without a GPU) of forward + backward + AdamW steps on one repeated batch."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = {k: v.to(model.device) for k, v in batch.items()}
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    for step in range(steps + 1):
        if step == 1:  # the first step warms up kernels and allocators
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return steps * len(batch["input_ids"]) / seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architecture", default="qwen2_vl_2b")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-pixels", type=int, default=None, help="cap the image pixels, as model.max_pixels")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = Image.fromarray(rng.integers(0, 255, (FRAME[1], FRAME[0], 3), dtype=np.uint8))
    band = frame.crop((0, int(FRAME[1] * BAND_TOP), FRAME[0], FRAME[1]))
    with tempfile.TemporaryDirectory() as scratch:
        folder = build_tiny_vlm(args.architecture, Path(scratch) / "model", PROMPT + ANSWER)
        model_config = default_config(ModelConfig, "model", base=str(folder))
        model, processor = load_vlm(str(folder), model_config, half_precision("auto"), for_training=True)
    model = prepare_for_training(model, default_config(LoraConfig, "lora"))
    model.enable_input_require_grads()
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    collate = AnswerOnlyCollator(processor)
    results = {}
    for name, image in (("full frame", frame), ("band", band)):
        image = shrink(image, args.max_pixels)
        batch = collate([{"image": image, "prompt": PROMPT, "answer": ANSWER}] * args.batch_size)
        speed, peak = samples_per_s(model, batch, args.steps)
        results[name] = {"image": f"{image.width}x{image.height}", "tokens_per_sample": batch["input_ids"].shape[1],
                         "samples_per_s": round(speed, 2), "peak_gpu_gib": None if peak is None else round(peak, 1)}
        print(f"{name:10s} {image.width}x{image.height}: {batch['input_ids'].shape[1]} tokens/sample, "
              f"{speed:.2f} samples/s, peak GPU memory {'not measured' if peak is None else f'{peak:.1f} GiB'}")
    speedup = results["band"]["samples_per_s"] / results["full frame"]["samples_per_s"]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"band vs full frame: {speedup:.2f}x samples/s on {device}")
    write_results("vlm_throughput", {"architecture": args.architecture, "device": device, "batch_size": args.batch_size,
                                     "steps": args.steps, "max_pixels": args.max_pixels or "uncapped", **results,
                                     "band_speed_up": round(speedup, 2)})


if __name__ == "__main__":
    main()
