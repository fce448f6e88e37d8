"""Stage render_synth: sentences -> data/synth/{train,test,unseen}/shard-*.tar + manifest.csv, metrics/render.json.

train and test share the `render` fonts, backgrounds and style mix; unseen draws the test lines again with
`render.unseen`'s, which must share no font or background source with them. The test splits take their lines in
corpus order; train puts lines bringing rare characters first (`render.char_coverage`).
"""
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, run_stage, stage_params
from zhtw_subtitles.core.io import read_lines, write_metrics
from zhtw_subtitles.core.paths import SENTENCES, SYNTH
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.sources import check_held_out, load_backgrounds, unseen_config

METRICS = Path("metrics/render.json")


def main() -> None:
    params = stage_params("render_synth")
    seed = params["seed"]
    seen = build(RenderConfig, params["render"], "render")
    unseen = unseen_config(seen)
    faces = {"seen": resolve_fonts(seen.fonts, seen.font_dir), "unseen": resolve_fonts(unseen.fonts, unseen.font_dir)}
    check_held_out(seen, faces["seen"], unseen, faces["unseen"])
    backgrounds, corrupt = {}, {}
    for group, config in (("seen", seen), ("unseen", unseen)):
        backgrounds[group], corrupt[group] = load_backgrounds(config, seed)
        for path in corrupt[group]:
            print(f"skipped unreadable background: {path}")
    splits = {  # split: (params, fonts and backgrounds, frames, sentences)
        "train": (seen, "seen", seen.num_images, "train"),
        "test": (seen, "seen", seen.num_test_images, "test"),
        "unseen": (unseen, "unseen", seen.unseen.num_images, "test"),
    }
    stats = {}
    with atomic_dir(SYNTH) as staging:
        for split, (config, group, count, lines) in splits.items():
            (staging / split).mkdir()
            sentences = read_lines(SENTENCES / f"{lines}.txt")
            stats[split] = render_split(split, sentences, count, faces[group], backgrounds[group], config, seed,
                                        staging / split, config.char_coverage if split == "train" else 0)
    write_metrics(METRICS, {
        **stats,
        "backgrounds_used": len(backgrounds["seen"]),
        "backgrounds_skipped_unreadable": len(corrupt["seen"]),
        "fonts_available": [face.name for face in faces["seen"]],
        "unseen_sources": {
            "backgrounds_used": len(backgrounds["unseen"]),
            "backgrounds_skipped_unreadable": len(corrupt["unseen"]),
            "fonts_available": [face.name for face in faces["unseen"]],
        },
    })


if __name__ == "__main__":
    run_stage(main)
