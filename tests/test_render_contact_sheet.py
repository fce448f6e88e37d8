"""The contact sheets of docs/styles.md: one per style, one of the layouts, one of the unseen split."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from zhtw_subtitles.synth.contact_sheet import fit, sheet, style_sheets


def test_a_vertical_frame_is_fitted_into_its_tile_not_stretched():
    upright = Image.new("RGB", (90, 160), "white")
    tile = np.asarray(fit(upright, (320, 180)))
    columns = np.nonzero(tile.min(axis=(0, 2)) == 255)[0]
    assert tile.shape == (180, 320, 3) and columns.size == round(90 * 180 / 160)  # 101 white columns, centred
    assert abs((columns.min() + columns.max()) / 2 - 159.5) <= 1 and tile[:, :100].max() == 0


def test_sheets_are_laid_out_in_rows_of_tiles():
    jpegs = []
    for grey in (50, 100, 150, 200, 250):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 36), (grey,) * 3).save(buffer, "JPEG")
        jpegs.append(buffer.getvalue())
    pixels = np.asarray(sheet(jpegs, 3, 64))
    assert pixels.shape == (72, 192, 3)
    assert [int(pixels[18, 32 + 64 * i, 0]) for i in range(3)] == [50, 100, 150]
    assert abs(int(pixels[54, 96, 0]) - 250) <= 2 and pixels[54, 160].max() == 0  # the sixth tile stays black


def test_style_sheets_are_small_jpegs_for_the_docs(tmp_path):
    written = style_sheets(tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{name}.jpg" for name in ("style_outline", "style_shadow", "style_box", "style_soft_outline",
                                   "style_colour_bold", "layouts", "unseen"))
    for path in written:
        assert path.stat().st_size < 300_000
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.width in (960, 1280)
