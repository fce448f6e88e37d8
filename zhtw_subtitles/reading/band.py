"""The subtitle band at the bottom of a frame, and a classical (no neural net) locator of the text line in it.

Subtitles are near-white glyphs inside a near-black outline. The locator keeps the pixels that are bright in
every channel while their surround within a stroke's reach is dark in every channel (a white top-hat measured
against the outline) and whose white area is closed off from broad white background. It then picks the densest
run of rows, the dense run of columns inside it, and finally the full height of the glyph pieces on that line.
"""
from __future__ import annotations

import cv2
import numpy as np

from zhtw_subtitles.dataset.frames import as_bgr8

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end-exclusive
Crop = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the frame

DEFAULT_BAND: Crop = (0.0, 0.65, 1.0, 1.0)

# After blur, down-sampling and JPEG, the thin strokes of a small subtitle peak far below the drawn ~250.
TEXT_MIN_BRIGHTNESS = 140
# How much brighter (darkest channel) than its darkest surround (brightest channel) a glyph pixel is.
OUTLINE_CONTRAST = 100
# Half-width of the surround window as a share of the band width: about one stem of a subtitle font.
SURROUND_SHARE = 0.004
# A white area this bright that holds a whole surround window is open background (sky, a cup), not a stroke.
OPEN_WHITE = 200
# Rows count as the line where they hold this share of the busiest row's glyph pixels.
ROW_SHARE = 0.25
# Columns count as the line where their glyph pixels, averaged over one line height, reach this share of the peak.
COLUMN_SHARE = 0.1
# A gap narrower than this many line heights lies inside the line (between or within characters).
COLUMN_GAP = 1.0
ROW_GAP = 0.35
# A glyph piece belongs to the line when most of its height lies in the line's rows and it is not much taller.
MAX_PIECE_HEIGHT = 1.3
OUTLINE_PX = 3  # the black outline is 2-3 px wide whatever the frame size
SIDE_BEARING = 0.04  # CJK glyphs sit inside their em box: the box reaches this share of a height past the ink
MIN_LINE_HEIGHT = 6
# Subtitles are at least this share of the frame width tall (the study's smallest is 0.039), and hold at least
# this many glyph pixels per square of their height (about one character's ink): specks and edges do not.
MIN_HEIGHT_SHARE = 0.02
MIN_INK_PER_SQUARE = 0.25


def band_bounds(height: int, width: int, crop: Crop | None) -> Box:
    """Pixel box of `crop` in a height x width frame; the whole frame for None."""
    if crop is None:
        return 0, 0, width, height
    left, top, right, bottom = crop
    if not 0 <= left < right <= 1 or not 0 <= top < bottom <= 1:
        raise ValueError(f"crop {crop} must be (left, top, right, bottom) fractions with left < right and top < bottom")
    return round(left * width), round(top * height), round(right * width), round(bottom * height)


def crop_band(frame: np.ndarray, crop: Crop | None) -> np.ndarray:
    """The part of `frame` that `crop` selects (a view, not a copy)."""
    x0, y0, x1, y1 = band_bounds(frame.shape[0], frame.shape[1], crop)
    return frame[y0:y1, x0:x1]


def usable_band(frame: np.ndarray | None, crop: Crop | None) -> np.ndarray | None:
    """The band of `frame` (any picture as_bgr8 takes), or None when there is no frame or its band is too small to
    hold a subtitle line."""
    frame = None if frame is None else as_bgr8(frame)
    if frame is None:
        return None
    band = crop_band(frame, crop)
    return band if min(band.shape[:2]) >= MIN_LINE_HEIGHT else None


def find_text_line(band: np.ndarray) -> Box | None:
    """Box of the subtitle line (glyphs and outline) inside `band` (BGR or grey uint8); None when there is none."""
    if band.ndim not in (2, 3) or band.shape[0] < MIN_LINE_HEIGHT or band.shape[1] < MIN_LINE_HEIGHT:
        return None
    glyphs = outlined_white_mask(band)
    rows = _line_rows(glyphs)
    if rows is None:
        return None
    columns = _line_columns(glyphs, rows)
    if columns is None:
        return None
    rows = _piece_rows(glyphs, rows, columns)
    if not _looks_like_text(glyphs, rows, columns):
        return None
    return _pad(rows, columns, band.shape)


def line_crop(frame: np.ndarray, crop: Crop | None = DEFAULT_BAND, pad_fraction: float = 0.15) -> np.ndarray:
    """The subtitle line of `frame` with `pad_fraction` of its height as margin; the whole band if none is found."""
    return line_of_band(crop_band(frame, crop), pad_fraction)


def line_of_band(band: np.ndarray, pad_fraction: float = 0.15) -> np.ndarray:
    """The subtitle line of `band`, as `line_crop` cuts it."""
    box = find_text_line(band)
    if box is None:
        return band
    x0, y0, x1, y1 = box
    margin = round(pad_fraction * (y1 - y0))
    return band[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin]


def outlined_white_mask(band: np.ndarray) -> np.ndarray:
    """1 where a pixel is white and its surround, one stem away at most, is black; uint8."""
    channels = cv2.split(band) if band.ndim == 3 else [band]
    darkest, brightest = channels[0], channels[0]
    for channel in channels[1:]:
        darkest, brightest = cv2.min(darkest, channel), cv2.max(brightest, channel)
    reach = max(1, round(SURROUND_SHARE * band.shape[1]))
    window = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
    # The opening keeps only what is bright across a whole window: broad white areas (sky, cups) stay bright
    # and cancel themselves out, while a stroke's window always takes in its black outline.
    surround = cv2.morphologyEx(brightest, cv2.MORPH_OPEN, window)
    contrast = cv2.subtract(darkest, surround)
    glyphs = ((contrast >= OUTLINE_CONTRAST) & (darkest >= TEXT_MIN_BRIGHTNESS)).astype(np.uint8)
    _drop_open_white(glyphs, darkest, window)
    return glyphs


def _drop_open_white(glyphs: np.ndarray, darkest: np.ndarray, window: np.ndarray) -> None:
    """Clears glyph pixels whose white area spreads into a broad white area, such as the notches of a sky above
    a jagged dark skyline; the outline closes every stroke off from the background."""
    white = (darkest >= OPEN_WHITE).astype(np.uint8)
    count, labels = cv2.connectedComponents(white, connectivity=4)
    broad = np.zeros(count, bool)
    broad[labels[cv2.erode(white, window) > 0]] = True
    broad[0] = False
    ys, xs = np.nonzero(glyphs)
    opened = broad[labels[ys, xs]]
    glyphs[ys[opened], xs[opened]] = 0


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a 1-D array."""
    steps = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(steps == 1).tolist(), np.flatnonzero(steps == -1).tolist()))


def _merge_around(runs: list[tuple[int, int]], seed: tuple[int, int], max_gap: float) -> tuple[int, int]:
    """`seed` widened by its neighbours in `runs` for as long as the gap to the next one is at most `max_gap`."""
    index = runs.index(seed)
    start, end = seed
    for other_start, other_end in reversed(runs[:index]):
        if start - other_end > max_gap:
            break
        start = other_start
    for other_start, other_end in runs[index + 1:]:
        if other_start - end > max_gap:
            break
        end = other_end
    return start, end


def _line_rows(glyphs: np.ndarray) -> tuple[int, int] | None:
    """The rows of the run of busy rows that holds the most glyph pixels."""
    counts = glyphs.sum(axis=1, dtype=np.int32)
    peak = int(counts.max())
    if peak < 2:
        return None
    runs = _runs(counts >= ROW_SHARE * peak)
    densest = max(runs, key=lambda run: counts[run[0]:run[1]].sum())
    # Characters such as 黑 or 二 leave blank rows inside the line.
    return _merge_around(runs, densest, ROW_GAP * (densest[1] - densest[0]))


def _line_columns(glyphs: np.ndarray, rows: tuple[int, int]) -> tuple[int, int] | None:
    """The columns of the line: glyph pixels that are dense over a line height, not stray specks such as stars."""
    line_height = rows[1] - rows[0]
    counts = glyphs[rows[0]:rows[1]].sum(axis=0, dtype=np.int32).astype(np.float32)
    window = line_height | 1
    density = cv2.blur(counts[None, :], (window, 1), borderType=cv2.BORDER_CONSTANT)[0]
    runs = _runs(density >= COLUMN_SHARE * density.max())
    densest = max(runs, key=lambda run: density[run[0]:run[1]].sum())
    start, end = _merge_around(runs, densest, COLUMN_GAP * line_height)
    inked = np.flatnonzero(counts[start:end])  # the averaging window spills past the ink
    return (start + int(inked[0]), start + int(inked[-1]) + 1) if inked.size else None


def _piece_rows(glyphs: np.ndarray, rows: tuple[int, int], columns: tuple[int, int]) -> tuple[int, int]:
    """`rows` widened to the full height of the glyph pieces on the line (a busy-row count misses tops and dots)."""
    top, bottom = rows
    _, _, stats, _ = cv2.connectedComponentsWithStats(glyphs[:, columns[0]:columns[1]], connectivity=8)
    piece_top, piece_height = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_HEIGHT]
    piece_bottom = piece_top + piece_height
    inside = np.minimum(piece_bottom, bottom) - np.maximum(piece_top, top)
    on_line = (2 * inside > piece_height) & (piece_height <= MAX_PIECE_HEIGHT * (bottom - top))
    if not on_line.any():
        return rows
    return min(top, int(piece_top[on_line].min())), max(bottom, int(piece_bottom[on_line].max()))


def _looks_like_text(glyphs: np.ndarray, rows: tuple[int, int], columns: tuple[int, int]) -> bool:
    height = rows[1] - rows[0]
    if height < max(MIN_LINE_HEIGHT, MIN_HEIGHT_SHARE * glyphs.shape[1]):
        return False
    ink = int(glyphs[rows[0]:rows[1], columns[0]:columns[1]].sum(dtype=np.int64))
    return ink >= MIN_INK_PER_SQUARE * height * height


def _pad(rows: tuple[int, int], columns: tuple[int, int], shape: tuple[int, ...]) -> Box:
    """The glyph pixels' box grown by the outline, and sideways by the glyphs' side bearings."""
    side = OUTLINE_PX + round(SIDE_BEARING * (rows[1] - rows[0]))
    return (max(0, columns[0] - side), max(0, rows[0] - OUTLINE_PX),
            min(shape[1], columns[1] + side), min(shape[0], rows[1] + OUTLINE_PX))
