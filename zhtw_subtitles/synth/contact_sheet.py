"""Contact sheets of rendered frames.

python -m zhtw_subtitles.synth.contact_sheet data/synth/train docs/contact_sheet.jpg   # the first frames of a split
python -m zhtw_subtitles.synth.contact_sheet --styles docs/img                          # one sheet per style and layout
"""
from __future__ import annotations

import argparse
import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render import RenderConfig, classic_looks, render_frame
from zhtw_subtitles.synth.sources import load_backgrounds, unseen_config

# Lines of Taiwanese TV dialogue for the style sheets (drawn, never trained on).
SHEET_LINES = ("我知道 但是不行", "這是一個國際學校", "你說這話是什麼意思", "明天見", "他們今天晚上不會回來吃飯了",
               "等一下 你先聽我說", "台北的天氣越來越熱了", "謝謝你一直陪著我")
# sheet name: (`render.styles` values, `render.layout` values), each on top of the classic frame
SHEETS = {
    "style_outline": ({"style_mix": {"outline": 1.0}}, {}),
    "style_shadow": ({"style_mix": {"shadow": 1.0}}, {}),
    "style_box": ({"style_mix": {"box": 1.0}}, {}),
    "style_soft_outline": ({"style_mix": {"soft_outline": 1.0}}, {}),
    "style_colour_bold": ({"colour_prob": 1.0, "bold_prob": 1.0}, {}),
}
# layout sheet columns: (name, `render.layout` values)
LAYOUTS = (("two-line", {"two_line_prob": 1.0}), ("letterbox", {"letterbox_prob": 1.0}),
           ("vertical", {"aspect_mix": {"9:16": 1.0}}), ("empty", {"empty_prob": 1.0}))


def fit(frame: Image.Image, tile: tuple[int, int]) -> Image.Image:
    """`frame` shrunk to fit `tile` with its aspect kept, centred on black (a vertical frame is not stretched)."""
    scale = min(tile[0] / frame.width, tile[1] / frame.height)
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    canvas = Image.new("RGB", tile, "black")
    canvas.paste(frame.convert("RGB").resize(size, Image.Resampling.LANCZOS),
                 ((tile[0] - size[0]) // 2, (tile[1] - size[1]) // 2))
    return canvas


def sheet(jpegs: list[bytes], columns: int, tile_width: int) -> Image.Image:
    """The frames in rows of `columns`, each in a 16:9 tile `tile_width` pixels wide."""
    tile = (tile_width, tile_width * 9 // 16)
    rows = -(-len(jpegs) // columns)
    canvas = Image.new("RGB", (columns * tile[0], rows * tile[1]), "black")
    for position, jpeg in enumerate(jpegs):
        with Image.open(io.BytesIO(jpeg)) as frame:
            canvas.paste(fit(frame, tile), ((position % columns) * tile[0], (position // columns) * tile[1]))
    return canvas


def contact_sheet(split_dir: Path, columns: int = 3, rows: int = 4, tile_width: int = 480) -> Image.Image:
    samples = list(itertools.islice(read_split(split_dir), columns * rows))
    if not samples:
        raise FileNotFoundError(f"no rendered frames in {split_dir}: run `dvc repro render_synth` first")
    return sheet([sample.jpeg for sample in samples], columns, tile_width)


def _draw(config: RenderConfig, backgrounds: list, count: int, seed: list[int]) -> list[bytes]:
    """`count` frames of SHEET_LINES, frame i drawn from the random stream seed + [i]."""
    faces = resolve_fonts(config.fonts, config.font_dir)
    frames = []
    for index in range(count):
        text = SHEET_LINES[index % len(SHEET_LINES)]
        covering = [face for face in faces if face.covers(text)]
        frames.append(render_frame(text, covering, backgrounds, config, np.random.default_rng([*seed, index]))[0])
    return frames


def style_sheets(out_dir: Path, seed: int = 0, columns: int = 3, rows: int = 2, tile_width: int = 320) -> list[Path]:
    """Write one sheet per style, one of the layouts (a column each) and one of the unseen-style split, drawn with
    params.yaml's render section: `out_dir`/<sheet>.jpg."""
    config = default_config(RenderConfig, "render")
    unseen = unseen_config(config)
    backgrounds, _ = load_backgrounds(config, seed)
    jpegs = {name: _draw(classic_looks(config, styles, layout), backgrounds, columns * rows, [seed, stream])
             for stream, (name, (styles, layout)) in enumerate(SHEETS.items())}
    by_layout = [_draw(classic_looks(config, {}, layout), backgrounds, rows, [seed, len(SHEETS)]) for _, layout in LAYOUTS]
    jpegs["layouts"] = [column[row] for row in range(rows) for column in by_layout]
    jpegs["unseen"] = _draw(unseen, load_backgrounds(unseen, seed)[0], columns * rows, [seed, len(SHEETS) + 1])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frames in jpegs.items():
        path = out_dir / f"{name}.jpg"
        sheet(frames, len(LAYOUTS) if name == "layouts" else columns, tile_width).save(path, quality=80)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("split", type=Path, nargs="?", help="a rendered split, e.g. data/synth/train")
    parser.add_argument("out", type=Path, nargs="?", help="JPEG or PNG file to write")
    parser.add_argument("--styles", type=Path, metavar="DIR", help="draw one sheet per style and layout into DIR")
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args()
    if args.styles:
        for path in style_sheets(args.styles):
            print(f"wrote {path}")
        return
    if args.split is None or args.out is None:
        parser.error("give a split and an output file, or --styles DIR")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(args.split, args.columns, args.rows).save(args.out, quality=85)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
