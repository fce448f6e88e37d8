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

from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_chat import AnswerOnlyCollator, shrink
from zhtw_subtitles.models.vlm_models import LoraConfig, load_vlm, prepare_for_training
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm
from zhtw_subtitles.training.trainer import half_precision

PROMPT = "請辨認圖片中央底部的白色字幕，然後回傳該字幕的內容。"
ANSWER = "今天天氣很好 我們去公園散步吧"
FRAME = (1280, 720)
BAND_TOP = 0.65


def samples_per_s(model, batch: dict, steps: int) -> tuple[float, float]:
    """(samples/s, peak GPU GiB) of forward + backward + AdamW steps on one repeated batch."""
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
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
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
        model, processor = load_vlm(str(folder), ModelConfig(base=str(folder)), half_precision("auto"), for_training=True)
    model = prepare_for_training(model, LoraConfig())
    model.enable_input_require_grads()
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    collate = AnswerOnlyCollator(processor)
    results = {}
    for name, image in (("full frame", frame), ("band", band)):
        image = shrink(image, args.max_pixels)
        batch = collate([{"image": image, "prompt": PROMPT, "answer": ANSWER}] * args.batch_size)
        results[name] = samples_per_s(model, batch, args.steps)
        print(f"{name:10s} {image.width}x{image.height}: {batch['input_ids'].shape[1]} tokens/sample, "
              f"{results[name][0]:.2f} samples/s, peak GPU memory {results[name][1]:.1f} GiB")
    speedup = results["band"][0] / results["full frame"][0]
    print(f"band vs full frame: {speedup:.2f}x samples/s on {torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}")


if __name__ == "__main__":
    main()
