"""Stage render_synth: sentences -> data/synth/{train,test}/shard-*.tar + manifest.csv, metrics/render.json."""
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, run_stage, stage_params
from zhtw_subtitles.core.io import read_lines, write_metrics
from zhtw_subtitles.core.paths import SENTENCES, SYNTH
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.sources import load_backgrounds

METRICS = Path("metrics/render.json")


def main() -> None:
    params = stage_params("render_synth")
    config = build(RenderConfig, params["render"], "render")
    faces = resolve_fonts(config.fonts, config.font_dir)
    backgrounds, corrupt = load_backgrounds(config, params["seed"])
    for path in corrupt:
        print(f"skipped unreadable background: {path}")
    counts = {"train": config.num_images, "test": config.num_test_images}
    stats = {}
    with atomic_dir(SYNTH) as staging:
        for split, count in counts.items():
            (staging / split).mkdir()
            sentences = read_lines(SENTENCES / f"{split}.txt")
            stats[split] = render_split(split, sentences, count, faces, backgrounds, config, params["seed"], staging / split)
    write_metrics(METRICS, {
        **stats,
        "backgrounds_used": len(backgrounds),
        "backgrounds_skipped_unreadable": len(corrupt),
        "fonts_available": [face.name for face in faces],
    })


if __name__ == "__main__":
    run_stage(main)
