"""The learned subtitle-line finder: PP-OCRv6 small det (models/ppocr_det.py) fine-tuned to light up only the
subtitle lines of a band, one blob per line, and nothing on a band without a subtitle.

A band is resized to `input_height` keeping its aspect, padded right to a multiple of 32 and normalised as
rapidocr's TextDetector does. The model was trained on each line's box shrunk by `shrink` of its height on every
side (so that the two lines of a cue stay apart); the blobs above `threshold` are grown back by the same amount.
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from transformers import PPOCRV6SmallDetForObjectDetection

from zhtw_subtitles.core.config import require
from zhtw_subtitles.dataset.frames import as_bgr8
from zhtw_subtitles.reading.band import MIN_LINE_HEIGHT, Box

SETTINGS_FILE = "line_finder.json"
ONNX_FILE = "model.onnx"  # what inference runs (onnxruntime: 3-4x faster than torch on a busy 2-core CPU)
STRIDE = 32  # the backbone's coarsest stride: inputs are padded to a multiple of it
PAD_VALUE = 0  # black, as letterbox bars are
BATCH = 8
# Blobs of one line that a gap between words splits are joined when they share this much of the taller one's height
# (the training mask spans the whole line whatever the glyphs, so a line's blobs are about equally tall) and lie at
# most this many heights apart sideways.
SAME_LINE_OVERLAP = 0.7
SAME_LINE_GAP = 1.5
# The lines of one subtitle are about equally tall: a blob under this share of the tallest line's height is a
# fragment (a lit edge, a stray glyph-like mark), not a line.
MIN_RELATIVE_HEIGHT = 0.5
# A line holds at least one whole character, about as wide as it is tall: a narrower blob is an upright speck.
MIN_LINE_ASPECT = 0.8
# The lines of one subtitle are centred one under the other: a further line's centre lies within this share of the
# wider line's width from the subtitle's, it is this tall relative to the subtitle's first line, at most this many
# heights above or below the subtitle, and overlaps its lines by at most this share of its own height (a blob
# across two lines is not a third line).
CUE_CENTRE_OFFSET = 0.25
CUE_HEIGHT_RATIO = (0.6, 1.6)
CUE_MAX_GAP = 1.0
CUE_MAX_OVERLAP = 0.3


@dataclass(frozen=True)
class LineFinderSettings:
    """What a saved line finder needs beyond its weights (written beside them as line_finder.json)."""
    input_height: int  # bands are resized to this height before the model sees them
    shrink: float  # each side of a line's box was moved in by this share of its height in the training masks
    threshold: float  # probability above which a pixel belongs to a line
    min_score: float  # a blob's mean probability must reach this
    min_height: int  # a blob's height in model-input pixels must reach this

    def __post_init__(self) -> None:
        require(self.input_height >= STRIDE and self.input_height % STRIDE == 0,
                f"line_finder.input_height must be a positive multiple of {STRIDE}, got {self.input_height}")
        require(0 <= self.shrink < 0.5, f"line_finder.shrink must lie in [0, 0.5), got {self.shrink}")
        require(0 < self.threshold < 1 and 0 < self.min_score < 1,
                "line_finder.threshold and line_finder.min_score are probabilities in (0, 1)")
        require(self.min_height >= 1, f"line_finder.min_height must be >= 1, got {self.min_height}")


def input_width(band_shape: tuple[int, ...], input_height: int) -> int:
    """The band's width once resized to `input_height`, before padding."""
    return max(1, round(band_shape[1] * input_height / band_shape[0]))


def padded(width: int) -> int:
    return -(-width // STRIDE) * STRIDE


def resize_band(band: np.ndarray, input_height: int) -> np.ndarray:
    """The band (BGR uint8) at the model's height, its aspect kept, not yet padded."""
    size = (input_width(band.shape, input_height), input_height)
    shrinking = band.shape[0] > input_height
    return cv2.resize(band, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_pixel_values(images: list[np.ndarray]) -> torch.Tensor:
    """N x 3 x H x W model input from resized BGR uint8 images of one height, each padded right to the widest
    (rounded up to a multiple of 32), normalised as rapidocr's detector does: (x / 255 - 0.5) / 0.5."""
    height = images[0].shape[0]
    batch = np.full((len(images), height, padded(max(i.shape[1] for i in images)), 3), PAD_VALUE, np.uint8)
    for slot, image in zip(batch, images):
        slot[:, :image.shape[1]] = image
    pixels = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    return pixels / 127.5 - 1.0


def line_logits(model: PPOCRV6SmallDetForObjectDetection, feature_maps) -> torch.Tensor:
    """N x 1 x H x W logits from the backbone's feature maps: the model's neck and head without the final sigmoid,
    so that training can use a numerically stable BCE."""
    head = model.head
    hidden = model.model.neck(feature_maps)
    return head.conv_final(head.conv_up(head.conv_down(hidden)))


def shrunk_box(box, shrink: float) -> tuple[float, float, float, float]:
    """The training mask's box for a line box: every side moved in by `shrink` of the box's height."""
    x0, y0, x1, y1 = box
    inset = shrink * (y1 - y0)
    return x0 + inset, y0 + inset, x1 - inset, y1 - inset


def line_mask(boxes, shape: tuple[int, int], shrink: float) -> np.ndarray:
    """float32 H x W target: 1 inside each shrunk line box (model-input pixels), 0 elsewhere."""
    mask = np.zeros(shape, np.float32)
    for box in boxes:
        x0, y0, x1, y1 = shrunk_box(box, shrink)
        top, bottom = int(round(y0)), max(int(round(y0)) + 1, int(round(y1)))
        left, right = int(round(x0)), max(int(round(x0)) + 1, int(round(x1)))
        mask[max(0, top):max(0, bottom), max(0, left):max(0, right)] = 1.0
    return mask


def boxes_from_probability(probability: np.ndarray, settings: LineFinderSettings) -> list[tuple[float, ...]]:
    """Line boxes (x0, y0, x1, y1, in the map's pixels, grown back to the full line) of the blobs of `probability`
    above the threshold that are tall and confident enough, blobs of one line joined, fragments and upright specks
    dropped, top to bottom."""
    above = (probability > settings.threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=4)
    blobs = []
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if h < settings.min_height or probability[labels == label].mean() < settings.min_score:
            continue
        blobs.append([float(x), float(y), float(x + w), float(y + h)])
    lines = join_same_line(blobs)
    tallest = max((y1 - y0 for _, y0, _, y1 in lines), default=0)
    grown = []
    for x0, y0, x1, y1 in lines:
        if y1 - y0 < MIN_RELATIVE_HEIGHT * tallest:
            continue
        outset = settings.shrink * (y1 - y0) / (1 - 2 * settings.shrink)  # undoes shrunk_box on the full height
        if x1 - x0 + 2 * outset >= MIN_LINE_ASPECT * (y1 - y0 + 2 * outset):
            grown.append((x0 - outset, y0 - outset, x1 + outset, y1 + outset))
    return sorted(one_cue(grown), key=lambda box: box[1])


def one_cue(lines: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The subtitle's lines: the largest line and the lines stacked against it, centred under or over it, as a cue's
    lines are; other text in the band (a sign, a logo, a blob beside or across the subtitle) is left out."""
    if len(lines) < 2:
        return lines
    cue = [max(lines, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))]
    rest = [box for box in lines if box is not cue[0]]
    while rest:
        joining = next((box for box in rest if _continues_cue(cue, box)), None)
        if joining is None:
            break
        cue.append(joining)
        rest.remove(joining)
    return cue


def _continues_cue(cue: list[tuple[float, ...]], box: tuple[float, ...]) -> bool:
    first = cue[0]
    height = first[3] - first[1]
    top, bottom = min(b[1] for b in cue), max(b[3] for b in cue)
    centre_offset = abs((box[0] + box[2]) - (first[0] + first[2])) / 2
    overlap = max(min(b[3], box[3]) - max(b[1], box[1]) for b in cue)
    return (centre_offset <= CUE_CENTRE_OFFSET * max(first[2] - first[0], box[2] - box[0])
            and CUE_HEIGHT_RATIO[0] * height <= box[3] - box[1] <= CUE_HEIGHT_RATIO[1] * height
            and max(top - box[3], box[1] - bottom) <= CUE_MAX_GAP * height
            and overlap <= CUE_MAX_OVERLAP * (box[3] - box[1]))


def join_same_line(blobs: list[list[float]]) -> list[list[float]]:
    """Blobs that share most of their height and lie close sideways become one (the words of a caption)."""
    blobs = sorted(blobs, key=lambda blob: blob[0])
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(blobs):
            for j in range(i + 1, len(blobs)):
                b = blobs[j]
                overlap = min(a[3], b[3]) - max(a[1], b[1])
                height = max(a[3] - a[1], b[3] - b[1])
                gap = max(a[0], b[0]) - min(a[2], b[2])
                if overlap >= SAME_LINE_OVERLAP * height and gap <= SAME_LINE_GAP * height:
                    blobs[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del blobs[j]
                    joined = True
                    break
            if joined:
                break
    return blobs


def to_band_box(box: tuple[float, ...], scale: float, band_shape: tuple[int, ...]) -> Box:
    """A box in model-input pixels as a box in the band's pixels, end-exclusive, inside the band."""
    height, width = band_shape[:2]
    x0, y0, x1, y1 = (value / scale for value in box)
    return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
            min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))


Probabilities = Callable[[np.ndarray], np.ndarray]  # N x 3 x H x W model input -> N x H x W line probability


def torch_probabilities(model: PPOCRV6SmallDetForObjectDetection) -> Probabilities:
    model.eval()

    def run(pixel_values: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(pixel_values)).last_hidden_state[:, 0].numpy()
    return run


def onnx_probabilities(onnx_path: Path, threads: int = 0) -> Probabilities:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda pixel_values: session.run(None, {name: pixel_values})[0][:, 0]


class LineFinder:
    """find_lines(bands) -> for each band, the boxes of its subtitle lines, top to bottom; [] for none."""

    def __init__(self, probabilities: Probabilities, settings: LineFinderSettings):
        self.probabilities = probabilities
        self.settings = settings

    def find_lines(self, bands: list[np.ndarray]) -> list[list[Box]]:
        found: list[list[Box]] = [[] for _ in bands]
        usable = []
        for index, band in enumerate(bands):
            band = None if band is None else as_bgr8(band)
            if band is not None and min(band.shape[:2]) >= MIN_LINE_HEIGHT:
                usable.append((index, band))
        usable.sort(key=lambda item: item[1].shape[1] / item[1].shape[0])  # similar widths share a batch
        height = self.settings.input_height
        for start in range(0, len(usable), BATCH):
            chunk = usable[start:start + BATCH]
            images = [resize_band(band, height) for _, band in chunk]
            for (index, band), image, probability in zip(chunk, images, self.probabilities(to_pixel_values(images).numpy())):
                scale = image.shape[0] / band.shape[0]
                boxes = boxes_from_probability(probability[:, :image.shape[1]], self.settings)
                found[index] = [box for box in (to_band_box(b, scale, band.shape) for b in boxes)
                                if box[2] > box[0] and box[3] > box[1]]
        return found


def save_line_finder(model: PPOCRV6SmallDetForObjectDetection, settings: LineFinderSettings, folder: Path) -> None:
    """The model (save_pretrained: config and weights; model.onnx for inference) and its settings, in `folder`."""
    folder = Path(folder)
    model.eval().save_pretrained(folder)
    example = torch.zeros(2, 3, settings.input_height, 4 * STRIDE)
    with warnings.catch_warnings():  # the exporter's notes on slices it does not constant-fold
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, (example,), str(folder / ONNX_FILE), dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["probability"],
                          dynamic_axes={"pixel_values": {0: "batch", 3: "width"}, "probability": {0: "batch", 3: "width"}})
    (folder / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n")


def read_settings(folder: Path) -> LineFinderSettings:
    folder = Path(folder)
    if not (folder / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"no line finder in {folder} (missing {SETTINGS_FILE}): run "
                                f"`dvc repro finetune_line_finder` or `dvc pull` first")
    return LineFinderSettings(**json.loads((folder / SETTINGS_FILE).read_text()))


def load_line_finder(folder: str | Path, threads: int = 0) -> LineFinder:
    """The line finder `save_line_finder` wrote into `folder` (the finetune_line_finder stage's models/line_finder),
    run by onnxruntime on `threads` threads (0: every core this process may use)."""
    settings = read_settings(Path(folder))
    return LineFinder(onnx_probabilities(Path(folder) / ONNX_FILE, threads), settings)


def load_line_finder_model(folder: str | Path) -> tuple[PPOCRV6SmallDetForObjectDetection, LineFinderSettings]:
    """The saved model in torch (to fine-tune further or compare), and its settings."""
    settings = read_settings(Path(folder))
    return PPOCRV6SmallDetForObjectDetection.from_pretrained(folder).eval(), settings
