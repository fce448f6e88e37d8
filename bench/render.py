"""images/s of render_synth against the study's per-image script, at the same frame sizes, in one run.

The baseline does what the study's generate_custom_dataset.py did for every image: open the background
file, resize it to the frame size, load the font, draw the stroked text with Pillow and save one JPEG file.
Usage: python bench/render.py [--images 1000]
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from results import write_results

from zhtw_subtitles.core.config import default_config, default_params
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split, resolve_workers
from zhtw_subtitles.synth.sources import load_backgrounds
from zhtw_subtitles.text.corpora import CorpusSettings, read_corpus
from zhtw_subtitles.text.sentences import SentenceConfig, SentenceExtractor


def study_baseline(frames: list[dict], backgrounds: list[str], font_paths: list[str], out: Path) -> None:
    rng = random.Random(0)
    for index, frame in enumerate(frames):
        image = Image.open(rng.choice(backgrounds)).convert("RGB").resize((int(frame["width"]), int(frame["height"])))
        if frame["text"]:  # a frame drawn without a subtitle
            font = ImageFont.truetype(rng.choice(font_paths), int(frame["font_size"]))
            draw = ImageDraw.Draw(image)
            left, top, right, bottom = draw.textbbox((0, 0), frame["text"], font=font)
            x = (image.width - (right - left)) / 2
            y = image.height - rng.uniform(2, 3) * (bottom - top)
            draw.text((x, y), frame["text"], font=font, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
        image.save(out / f"image_{index}.jpg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    config = default_config(RenderConfig, "render")
    faces = resolve_fonts(config.fonts, config.font_dir)
    backgrounds, _ = load_backgrounds(config, 0)  # photographs and video frames, as render_synth draws train
    hsk = read_corpus("hsk", CorpusSettings.from_params(default_params()))
    sentences = SentenceExtractor(default_config(SentenceConfig, "sentences"), seed=0).lines(hsk)
    with tempfile.TemporaryDirectory() as tmp:
        ours, study = Path(tmp, "ours"), Path(tmp, "study")
        ours.mkdir()
        study.mkdir()
        start = time.perf_counter()
        render_split("train", sentences, args.images, faces, backgrounds, config, 0, ours)
        ours_s = time.perf_counter() - start
        frames = read_manifest(ours)
        start = time.perf_counter()
        pictures = [b.path for b in backgrounds if b.pixels is None]  # the study read one picture file per image
        study_baseline(frames, pictures, [f.path for f in faces], study)
        study_s = time.perf_counter() - start
        ours_mb = sum(p.stat().st_size for p in ours.iterdir()) / 2**20
        study_mb = sum(p.stat().st_size for p in study.iterdir()) / 2**20
    sizes = {}
    for frame in frames:
        sizes[f"{frame['width']}x{frame['height']}"] = sizes.get(f"{frame['width']}x{frame['height']}", 0) + 1
    print(f"frames: {args.images}, sizes: {sizes}, workers: {resolve_workers(config.workers)}, cores: {os.cpu_count()}")
    print(f"study baseline (1 process, file per image): {args.images / study_s:7.1f} images/s  {study_mb:6.1f} MiB in {args.images} files")
    print(f"render_synth (shards):                      {args.images / ours_s:7.1f} images/s  {ours_mb:6.1f} MiB in {-(-args.images // config.shard_size) + 1} files")
    print(f"speed-up: {study_s / ours_s:.2f}x (target >= 4x)")
    write_results("render", {
        "images": args.images, "frame_sizes": sizes, "workers": resolve_workers(config.workers),
        "study_baseline_images_per_s": round(args.images / study_s, 1), "study_baseline_mib": round(study_mb, 1),
        "render_synth_images_per_s": round(args.images / ours_s, 1), "render_synth_mib": round(ours_mb, 1),
        "speed_up": round(study_s / ours_s, 2), "target_speed_up": 4,
    })


if __name__ == "__main__":
    main()
