"""A contact sheet of rendered frames: python -m zhtw_subtitles.synth.contact_sheet data/synth/train docs/contact_sheet.jpg"""
from __future__ import annotations

import argparse
import io
import itertools
from pathlib import Path

from PIL import Image

from zhtw_subtitles.dataset.shards import read_split


def contact_sheet(split_dir: Path, columns: int = 3, rows: int = 4, tile_width: int = 480) -> Image.Image:
    tile = (tile_width, tile_width * 9 // 16)
    sheet = Image.new("RGB", (columns * tile[0], rows * tile[1]), "black")
    samples = list(itertools.islice(read_split(split_dir), columns * rows))
    if not samples:
        raise FileNotFoundError(f"no rendered frames in {split_dir}: run `dvc repro render_synth` first")
    for position, sample in enumerate(samples):
        with Image.open(io.BytesIO(sample.jpeg)) as frame:
            thumbnail = frame.convert("RGB").resize(tile, Image.Resampling.LANCZOS)
        sheet.paste(thumbnail, ((position % columns) * tile[0], (position // columns) * tile[1]))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split", type=Path, help="a rendered split, e.g. data/synth/train")
    parser.add_argument("out", type=Path, help="JPEG or PNG file to write")
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(args.split, args.columns, args.rows).save(args.out, quality=85)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
