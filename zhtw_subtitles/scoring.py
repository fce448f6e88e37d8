"""Scoring subtitle predictions: error rates, per-length breakdown, a sheet of the worst reads, submission CSVs.

Every metric comes in two variants: on the raw text, and "normalised" (see `normalise`), which forgives
punctuation, spacing and full-width/half-width differences that a viewer would not call a misread.
"""
from __future__ import annotations

import csv
import heapq
import io
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import jiwer
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from .atomic import atomic_file
from .fonts import embedded_fonts

CSV_HEADER = ("id", "text")

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

# Every character is a token and whitespace is kept: jiwer's default CER transform strips leading and
# trailing spaces, which would make `cer` disagree with `mean_edit_distance` on the same texts.
_CHARACTERS = jiwer.ReduceToListOfListOfChars()


def normalise(text: str) -> str:
    """The text the "normalised" variant of every metric compares.

    Unicode NFKC (full-width digits and Latin letters become ASCII, the ideographic space a plain space,
    `…` becomes `...`), then every whitespace character and every punctuation or symbol character
    (Unicode categories P* and S*, e.g. `，。！？、「」` and `~+$`) is removed.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


def score(truths: Sequence[str], predictions: Sequence[str]) -> dict:
    """Metrics of `predictions` against `truths` (same order), raw and normalised; floats rounded to 6 places.

    - `cer`: total character edits (substitutions + deletions + insertions) / total truth characters, over
      the whole set (so long subtitles weigh more). An empty truth adds no characters, but a non-empty
      prediction for it adds its length as insertions. When every truth is empty, `cer` is 0.0 if every
      prediction is empty too, else 1.0.
    - `mean_edit_distance`: Levenshtein distance per image, averaged (the Kaggle competition's metric).
    - `exact_match`: fraction of predictions equal to their truth.
    - `n`: number of images.
    """
    _check_pairs(truths, predictions)
    truths_normalised = [normalise(t) for t in truths]
    predictions_normalised = [normalise(p) for p in predictions]
    return {
        "n": len(truths),
        **_metrics(truths, predictions, suffix=""),
        **_metrics(truths_normalised, predictions_normalised, suffix="_normalised"),
    }


def cer_by_length(truths: Sequence[str], predictions: Sequence[str]) -> list[dict]:
    """Rows `{"length", "cer", "n"}`: raw CER (as in `score`) of the images whose truth has `length` characters."""
    _check_pairs(truths, predictions)
    groups: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for truth, prediction in zip(truths, predictions):
        groups[len(truth)].append((truth, prediction))
    rows = []
    for length in sorted(groups):
        group_truths, group_predictions = zip(*groups[length])
        rows.append({"length": length, "cer": round(_cer(group_truths, group_predictions), 6), "n": len(group_truths)})
    return rows


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


def write_csv_predictions(path: Path, ids: Sequence[str], texts: Sequence[str]) -> None:
    """Write the competition submission: UTF-8 CSV with header `id,text`, one row per image (id = file stem)."""
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts for {path}")
    repeated = sorted(str(image_id) for image_id, count in Counter(ids).items() if count > 1)
    if repeated:
        raise ValueError(f"ids repeat in the predictions for {path}: {repeated[:10]}")
    buffer = io.StringIO()
    rows = csv.writer(buffer, lineterminator="\n")
    rows.writerow(CSV_HEADER)
    rows.writerows(zip(ids, texts))
    with atomic_file(Path(path), "wb") as handle:
        handle.write(buffer.getvalue().encode("utf-8"))


def read_csv_predictions(path: Path) -> dict[str, str]:
    """`{id: text}` from a submission CSV; an empty field is the empty prediction."""
    # utf-8-sig: spreadsheet programs put a byte-order mark in front of the header.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or tuple(header) != CSV_HEADER:
            raise ValueError(f"{path}: the header must be exactly 'id,text', found {header!r}")
        predictions: dict[str, str] = {}
        for row in rows:
            if len(row) != 2:
                raise ValueError(f"{path} line {rows.line_num}: expected 2 fields (id,text), found {row!r}")
            image_id, text = row
            if image_id in predictions:
                raise ValueError(f"{path} line {rows.line_num}: id {image_id!r} repeats")
            predictions[image_id] = text
    return predictions


def _check_pairs(truths: Sequence[str], predictions: Sequence[str]) -> None:
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions: they must pair up one to one")
    if not truths:
        raise ValueError("nothing to score: no truths and no predictions")
    if not all(isinstance(text, str) for text in (*truths, *predictions)):
        raise ValueError("every truth and prediction must be a str (a missing prediction is '', not None or NaN)")


def _metrics(truths: Sequence[str], predictions: Sequence[str], suffix: str) -> dict[str, float]:
    distances = [Levenshtein.distance(t, p) for t, p in zip(truths, predictions)]
    return {
        f"cer{suffix}": round(_cer(truths, predictions), 6),
        f"mean_edit_distance{suffix}": round(sum(distances) / len(distances), 6),
        f"exact_match{suffix}": round(sum(t == p for t, p in zip(truths, predictions)) / len(truths), 6),
    }


def _cer(truths: Sequence[str], predictions: Sequence[str]) -> float:
    counts = jiwer.process_characters(
        list(truths), list(predictions), reference_transform=_CHARACTERS, hypothesis_transform=_CHARACTERS
    )
    edits = counts.substitutions + counts.deletions + counts.insertions
    truth_characters = counts.hits + counts.substitutions + counts.deletions
    if truth_characters == 0:
        # jiwer returns the raw insertion count here, which is not a rate.
        return 0.0 if edits == 0 else 1.0
    return edits / truth_characters


@lru_cache(maxsize=1)
def _sheet_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(embedded_fonts()["noto_sans_tc"].path, SHEET_FONT_SIZE)


Colour = tuple[int, int, int]
# A drawn line is a list of spans: text, its colour, and a highlight behind it or None.
Span = tuple[str, Colour, Colour | None]


def _truth_line(diff: list[tuple[str, str, str]]) -> list[Span]:
    spans: list[Span] = [("truth: ", LABEL_COLOUR, None)]
    for tag, truth_piece, _ in diff:
        if truth_piece:
            spans.append((truth_piece, TEXT_COLOUR, None if tag == "equal" else MISSING_HIGHLIGHT))
    return spans


def _prediction_line(diff: list[tuple[str, str, str]], distance: int) -> list[Span]:
    spans: list[Span] = [("pred:  ", LABEL_COLOUR, None)]
    if not any(prediction_piece for _, _, prediction_piece in diff):
        spans.append(("(empty)", LABEL_COLOUR, None))
    for tag, _, prediction_piece in diff:
        if prediction_piece:
            spans.append((prediction_piece, TEXT_COLOUR if tag == "equal" else WRONG_COLOUR, None))
    spans.append((f"   edit distance {distance}", LABEL_COLOUR, None))
    return spans


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
