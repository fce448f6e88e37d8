"""LoRA training throughput and memory of VLMs at the full frame against the subtitle band: samples/s and peak GPU
memory, in bf16 LoRA and in 4-bit QLoRA, all measured in the same run on random-initialised models of published
shapes (nothing is downloaded).

Default: HunyuanOCR (1.0B) and Qwen2-VL-2B-Instruct (2.2B) as published (see testing/tiny_vlms.py), on 1280x720
frames against their band (crop [0, 0.65, 1, 1]: 1280x252), batch 4, activation checkpointing, the default `lora`
params. Needs a CUDA GPU (and bitsandbytes for QLoRA); elsewhere every figure is "not measured". `--tiny` runs the
same code on the tiny test shapes on any device, printed only, to check the script itself.
Usage: python bench/vlm_throughput.py [--architectures hunyuan_ocr_1b qwen2_vl_2b] [--steps 10] [--batch-size 4]
       [--max-pixels N] [--tiny]
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from results import shown, write_results

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_chat import AnswerOnlyCollator, shrink
from zhtw_subtitles.models.vlm_models import LoraConfig, load_vlm, prepare_for_training
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm

PROMPT = "請辨認圖片中央底部的白色字幕，然後回傳該字幕的內容。"
ANSWER = "今天天氣很好 我們去公園散步吧"
FRAME = (1280, 720)
BAND_TOP = 0.65
PUBLISHED = ("hunyuan_ocr_1b", "qwen2_vl_2b")
TINY = {"hunyuan_ocr_1b": "hunyuan_vl", "qwen2_vl_2b": "qwen2_vl"}  # the same architectures at test size
MODES = {"bf16 LoRA": None, "4-bit QLoRA": "4bit"}  # model.quantization of each


def why_not_measured(quantization: str | None, tiny: bool) -> str | None:
    """Why a run cannot be measured here: the published shapes need a GPU, 4-bit loading CUDA and bitsandbytes."""
    if quantization and not (torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes")):
        return "4-bit needs a CUDA GPU and bitsandbytes"
    if not tiny and not torch.cuda.is_available():
        return "no CUDA GPU"
    return None


def samples_per_s(model, batch: dict, steps: int) -> tuple[float, float | None]:
    """(samples/s, peak GPU GiB or None without a GPU) of forward + backward + AdamW steps on one repeated batch;
    the peak counts everything held: weights, adapter, optimizer states and activations."""
    cuda = torch.cuda.is_available()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    batch = {k: v.to(model.device) for k, v in batch.items()}
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for step in range(steps + 1):
        if step == 1:  # the first step warms up kernels and allocators
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return steps * len(batch["input_ids"]) / seconds, peak


def measure(folder: Path, quantization: str | None, images: dict[str, Image.Image], args) -> dict[str, dict]:
    """Each image's figures for one model loaded for LoRA training, in bf16 or 4-bit."""
    config = default_config(ModelConfig, "model", base=str(folder), quantization=quantization)
    model, processor = load_vlm(str(folder), config, torch.bfloat16 if torch.cuda.is_available() else None,
                                for_training=True)
    model = prepare_for_training(model, default_config(LoraConfig, "lora"))
    model.enable_input_require_grads()
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    collate = AnswerOnlyCollator(processor)
    figures = {}
    for name, image in images.items():
        batch = collate([{"image": image, "prompt": PROMPT, "answer": ANSWER}] * args.batch_size)
        speed, peak = samples_per_s(model, batch, args.steps)
        figures[name] = {"image": f"{image.width}x{image.height}", "tokens_per_sample": batch["input_ids"].shape[1],
                         "samples_per_s": round(speed, 2), "peak_gpu_gib": None if peak is None else round(peak, 2)}
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architectures", nargs="+", default=list(PUBLISHED), choices=PUBLISHED)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-pixels", type=int, default=None, help="cap the image pixels, as model.max_pixels")
    parser.add_argument("--tiny", action="store_true", help="the tiny test shapes on any device, printed only")
    args = parser.parse_args()
    frame = Image.fromarray(np.random.default_rng(0).integers(0, 255, (FRAME[1], FRAME[0], 3), dtype=np.uint8))
    band = frame.crop((0, int(FRAME[1] * BAND_TOP), FRAME[0], FRAME[1]))
    images = {"full frame": shrink(frame, args.max_pixels), "band": shrink(band, args.max_pixels)}
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    runs = []
    for architecture in args.architectures:
        with tempfile.TemporaryDirectory() as scratch:
            folder = None
            for mode, quantization in MODES.items():
                reason = why_not_measured(quantization, args.tiny)
                if reason:
                    figures = {name: {"image": f"{image.width}x{image.height}", "samples_per_s": None,
                                      "peak_gpu_gib": None, "why": reason} for name, image in images.items()}
                else:
                    folder = folder or build_tiny_vlm(TINY[architecture] if args.tiny else architecture,
                                                      Path(scratch) / "model", [PROMPT, ANSWER])
                    figures = measure(folder, quantization, images, args)
                speeds = [figures[name]["samples_per_s"] for name in images]
                runs.append({"architecture": architecture, "mode": mode, **figures,
                             "band_speed_up": None if None in speeds else round(speeds[1] / speeds[0], 2)})
    print(f"{'architecture':15s} {'mode':12s} {'image':10s} {'size':>9s} {'tokens':>12s} {'samples/s':>12s} "
          f"{'peak GiB':>12s}")
    for run in runs:
        for name in images:
            figures = run[name]
            print(f"{run['architecture']:15s} {run['mode']:12s} {name:10s} {figures['image']:>9s} "
                  f"{shown(figures.get('tokens_per_sample')):>12} {shown(figures['samples_per_s']):>12} "
                  f"{shown(figures['peak_gpu_gib']):>12}")
        speed_up = "not measured" if run["band_speed_up"] is None else f"{run['band_speed_up']}x samples/s"
        print(f"{'':15s} {run['mode']:12s} band vs full frame: {speed_up} on {device}")
    if args.tiny:
        print("--tiny: test shapes, not written to bench/results")
        return
    write_results("vlm_throughput", {"device": device, "batch_size": args.batch_size, "steps": args.steps,
                                     "max_pixels": args.max_pixels or "uncapped", "lora": "the default lora params",
                                     "runs": runs})


if __name__ == "__main__":
    main()
