"""A sheet of the worst reads: each frame with its truth and prediction, the differences highlighted."""
from __future__ import annotations

import heapq
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from zhtw_subtitles.core.atomic import atomic_file
from zhtw_subtitles.synth.fonts import embedded_fonts

SHEET_IMAGE_WIDTH = 640
SHEET_FONT_SIZE = 24
SHEET_LINE_HEIGHT = 34
SHEET_PADDING = 8
SHEET_ROW_GAP = 12
BACKGROUND = (255, 255, 255)
TEXT_COLOUR = (0, 0, 0)
LABEL_COLOUR = (110, 110, 110)
WRONG_COLOUR = (210, 0, 0)
MISSING_HIGHLIGHT = (255, 225, 110)
SEPARATOR_COLOUR = (200, 200, 200)
LINE_BREAK = "｜"  # how the sheet shows the "\n" between the lines of a two-line subtitle

Colour = tuple[int, int, int]
# A drawn line is a list of spans: text, its colour, and a highlight behind it or None.
Span = tuple[str, Colour, Colour | None]

def char_diff(truth: str, prediction: str) -> list[tuple[str, str, str]]:
    """Spans `(tag, truth piece, prediction piece)` of a minimal edit; tag is equal, replace, delete or insert."""
    return [
        (op.tag, truth[op.src_start : op.src_end], prediction[op.dest_start : op.dest_end])
        for op in Levenshtein.opcodes(truth, prediction)
    ]


def worst_predictions_sheet(
    items: Iterable[tuple[np.ndarray | Image.Image, str, str]], out_path: Path, limit: int = 12
) -> int:
    """Draw the `limit` items `(image, truth, prediction)` of largest edit distance into a PNG; return the row count.

    Rows go worst first (ties in input order). Each shows the image (a BGR uint8 array or a PIL image, band
    crop or whole frame) scaled to 640 px wide, then the truth with the characters the prediction missed or
    replaced highlighted, then the prediction with its wrong or extra characters in red and its edit distance.
    """
    scored = ((Levenshtein.distance(truth, prediction), image, truth, prediction) for image, truth, prediction in items)
    # nlargest keeps only `limit` items in memory (frames are big) and, like a stable sort, keeps input order on ties.
    worst = heapq.nlargest(limit, scored, key=lambda entry: entry[0])
    sheet = _draw_rows(worst) if worst else _draw_message("no predictions")
    with atomic_file(Path(out_path), "wb") as handle:
        # A 256-colour palette keeps the sheet small enough to live in git beside the metrics.
        sheet.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(handle, format="PNG", optimize=True)
    return len(worst)


@lru_cache(maxsize=1)
def _sheet_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(embedded_fonts()["noto_sans_tc"].path, SHEET_FONT_SIZE)


def _truth_line(diff: list[tuple[str, str, str]]) -> list[Span]:
    spans: list[Span] = [("truth: ", LABEL_COLOUR, None)]
    for tag, truth_piece, _ in diff:
        if truth_piece:
            spans.append((_shown(truth_piece), TEXT_COLOUR, None if tag == "equal" else MISSING_HIGHLIGHT))
    return spans


def _prediction_line(diff: list[tuple[str, str, str]], distance: int) -> list[Span]:
    spans: list[Span] = [("pred:  ", LABEL_COLOUR, None)]
    if not any(prediction_piece for _, _, prediction_piece in diff):
        spans.append(("(empty)", LABEL_COLOUR, None))
    for tag, _, prediction_piece in diff:
        if prediction_piece:
            spans.append((_shown(prediction_piece), TEXT_COLOUR if tag == "equal" else WRONG_COLOUR, None))
    spans.append((f"   edit distance {distance}", LABEL_COLOUR, None))
    return spans


def _shown(text: str) -> str:
    return text.replace("\n", LINE_BREAK)


def _line_width(spans: list[Span]) -> int:
    return round(sum(_sheet_font().getlength(text) for text, _, _ in spans))


def _draw_line(draw: ImageDraw.ImageDraw, x: int, y: int, spans: list[Span]) -> None:
    font = _sheet_font()
    for text, colour, highlight in spans:
        width = font.getlength(text)
        if highlight is not None:
            draw.rectangle((x, y, x + width, y + SHEET_LINE_HEIGHT - 2), fill=highlight)
        draw.text((x, y), text, font=font, fill=colour)
        x += width


def _as_rgb(image: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if image.ndim == 2:
        return Image.fromarray(image).convert("RGB")
    return Image.fromarray(np.ascontiguousarray(image[..., 2::-1]))  # BGR(A) -> RGB


def _scaled(image: np.ndarray | Image.Image) -> Image.Image:
    rgb = _as_rgb(image)
    height = max(1, round(rgb.height * SHEET_IMAGE_WIDTH / rgb.width))
    return rgb.resize((SHEET_IMAGE_WIDTH, height), Image.Resampling.LANCZOS)


def _draw_rows(worst: list[tuple[int, np.ndarray | Image.Image, str, str]]) -> Image.Image:
    rows = []
    for distance, image, truth, prediction in worst:
        diff = char_diff(truth, prediction)
        rows.append((_scaled(image), _truth_line(diff), _prediction_line(diff, distance)))
    content_width = max([SHEET_IMAGE_WIDTH] + [max(_line_width(t), _line_width(p)) for _, t, p in rows])
    row_heights = [picture.height + 2 * SHEET_LINE_HEIGHT + SHEET_ROW_GAP for picture, _, _ in rows]
    sheet = Image.new("RGB", (content_width + 2 * SHEET_PADDING, SHEET_PADDING + sum(row_heights)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = SHEET_PADDING
    for (picture, truth_line, prediction_line), row_height in zip(rows, row_heights):
        if y > SHEET_PADDING:
            draw.line((0, y - SHEET_ROW_GAP // 2, sheet.width, y - SHEET_ROW_GAP // 2), fill=SEPARATOR_COLOUR)
        sheet.paste(picture, (SHEET_PADDING, y))
        text_top = y + picture.height + 2
        _draw_line(draw, SHEET_PADDING, text_top, truth_line)
        _draw_line(draw, SHEET_PADDING, text_top + SHEET_LINE_HEIGHT, prediction_line)
        y += row_height
    return sheet


def _draw_message(message: str) -> Image.Image:
    spans: list[Span] = [(message, LABEL_COLOUR, None)]
    size = (_line_width(spans) + 2 * SHEET_PADDING, SHEET_LINE_HEIGHT + 2 * SHEET_PADDING)
    sheet = Image.new("RGB", size, BACKGROUND)
    _draw_line(ImageDraw.Draw(sheet), SHEET_PADDING, SHEET_PADDING, spans)
    return sheet
