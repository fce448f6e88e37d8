"""The learned subtitle-line finder: PP-OCRv6 small det (models/ppocr_det.py) fine-tuned to light up only the
subtitle lines of a band, one blob per line, and nothing on a band without a subtitle.

A band is resized to `input_height` keeping its aspect, padded right to a multiple of 32 and normalised as
rapidocr's TextDetector does. The model was trained on each line's box shrunk by `shrink` of its height on every
side (so that the two lines of a cue stay apart); models/line_boxes.py turns its probability map into line boxes.
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
from transformers import PPOCRV6SmallDetForObjectDetection

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.dataset.frames import as_bgr8
from zhtw_subtitles.models.line_boxes import BoxSettings, apart, boxes_from_probability
from zhtw_subtitles.reading.band import MIN_LINE_HEIGHT, Box

SETTINGS_FILE = "line_finder.json"
ONNX_FILE = "model.onnx"  # float32 export (onnxruntime: 3-4x faster than torch on a busy 2-core CPU)
INT8_ONNX_FILE = "model.int8.onnx"  # quantised from it (3x faster again where the CPU has int8 dot products)
STRIDE = 32  # the backbone's coarsest stride: inputs are padded to a multiple of it
PAD_VALUE = 0  # black, as letterbox bars are
BATCH = 8


@dataclass(frozen=True)
class LineFinderSettings:
    """What a saved line finder needs beyond its weights (written beside them as line_finder.json)."""
    input_height: int  # bands are resized to this height before the model sees them
    shrink: float  # each side of a line's box was moved in by this share of its height in the training masks
    threshold: float  # probability above which a pixel belongs to a line
    min_score: float  # a blob's mean probability must reach this
    min_height: int  # a blob's height in model-input pixels must reach this
    outset_vertical: float  # a blob grows by this share of its height at the top and bottom (measured in training)
    outset_horizontal: float  # and by this share of its height on the left and right
    onnx_file: str  # what inference runs: model.onnx (float32) or model.int8.onnx

    def __post_init__(self) -> None:
        require(self.input_height >= STRIDE and self.input_height % STRIDE == 0,
                f"line_finder.input_height must be a positive multiple of {STRIDE}, got {self.input_height}")
        require(0 <= self.shrink < 0.5, f"line_finder.shrink must lie in [0, 0.5), got {self.shrink}")
        self.boxes  # raises a ConfigError for a bad threshold, min_score, min_height or outset

    @property
    def boxes(self) -> BoxSettings:
        return BoxSettings(self.threshold, self.min_score, self.min_height, self.outset_vertical, self.outset_horizontal)


def nominal_outset(shrink: float) -> float:
    """The outset that undoes `shrunk_box` exactly on a blob as tall as the shrunk box."""
    return shrink / (1 - 2 * shrink)


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


def to_pixel_values(images: list[np.ndarray]) -> np.ndarray:
    """float32 N x 3 x H x W model input from resized BGR uint8 images of one height, each padded right to the widest
    (rounded up to a multiple of 32), normalised as rapidocr's detector does: (x / 255 - 0.5) / 0.5."""
    height = images[0].shape[0]
    batch = np.full((len(images), 3, height, padded(max(i.shape[1] for i in images))), PAD_VALUE, np.float32)
    for slot, image in zip(batch, images):
        slot[:, :, :image.shape[1]] = image.transpose(2, 0, 1)
    return batch / np.float32(127.5) - np.float32(1)


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


def same_width_batches(bands: list[tuple[int, np.ndarray]], input_height: int) -> list[list[tuple[int, np.ndarray]]]:
    """(index, band) pairs in batches of at most BATCH whose bands pad to one width, so that each band is seen with
    the padding it had in training (alone): padding it further changes the map near its right edge, and with it
    the boxes (a band wider than its neighbours turned an empty band's no line into a line)."""
    def width(item):
        return padded(input_width(item[1].shape, input_height))
    batches: list[list[tuple[int, np.ndarray]]] = []
    for item in sorted(bands, key=width):
        if not batches or len(batches[-1]) == BATCH or width(batches[-1][0]) != width(item):
            batches.append([])
        batches[-1].append(item)
    return batches


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
        height = self.settings.input_height
        for chunk in same_width_batches(usable, height):
            images = [resize_band(band, height) for _, band in chunk]
            for (index, band), image, probability in zip(chunk, images, self.probabilities(to_pixel_values(images))):
                scale = image.shape[0] / band.shape[0]
                boxes = boxes_from_probability(probability[:, :image.shape[1]], self.settings.boxes)
                # Each box is rounded outwards into band pixels, so two lines that touch can overlap by a pixel.
                in_band = (to_band_box(box, scale, band.shape) for box in boxes)
                inside = [box for box in in_band if box[2] > box[0] and box[3] > box[1]]
                found[index] = [tuple(int(value) for value in box) for box in apart(inside)]
        return found


def save_line_finder(model: PPOCRV6SmallDetForObjectDetection, settings: LineFinderSettings, folder: Path) -> None:
    """The model (save_pretrained: config and weights; model.onnx, its float32 export) and its settings, in
    `folder`."""
    folder = Path(folder)
    model.eval().save_pretrained(folder)
    example = torch.zeros(2, 3, settings.input_height, 4 * STRIDE)
    with warnings.catch_warnings():  # the exporter's notes on slices it does not constant-fold
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, (example,), str(folder / ONNX_FILE), dynamo=False, opset_version=17,
                          input_names=["pixel_values"], output_names=["probability"],
                          dynamic_axes={"pixel_values": {0: "batch", 3: "width"}, "probability": {0: "batch", 3: "width"}})
    write_settings(folder, settings)


def write_settings(folder: Path, settings: LineFinderSettings) -> None:
    (Path(folder) / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2) + "\n")


def read_settings(folder: Path) -> LineFinderSettings:
    folder = Path(folder)
    if not (folder / SETTINGS_FILE).is_file():
        raise ConfigError(f"{folder} holds no line finder: run `dvc repro finetune_line_finder` (or `dvc pull`) first "
                          f"(it has no {SETTINGS_FILE})")
    saved = json.loads((folder / SETTINGS_FILE).read_text())
    missing = {field.name for field in fields(LineFinderSettings)} - set(saved)
    if missing:
        raise ConfigError(f"{folder / SETTINGS_FILE} lacks {sorted(missing)}: it was saved by an older version; "
                          f"run `dvc repro finetune_line_finder` (or `dvc pull` at this commit)")
    return LineFinderSettings(**saved)


def load_line_finder(folder: str | Path, threads: int = 0) -> LineFinder:
    """The line finder that the finetune_line_finder stage wrote into `folder` (models/line_finder), run by
    onnxruntime on `threads` threads (0: every core this process may use)."""
    settings = read_settings(Path(folder))
    return LineFinder(onnx_probabilities(Path(folder) / settings.onnx_file, threads), settings)


def load_line_finder_model(folder: str | Path) -> tuple[PPOCRV6SmallDetForObjectDetection, LineFinderSettings]:
    """The saved model in torch (to fine-tune further or compare), and its settings."""
    settings = read_settings(Path(folder))
    return PPOCRV6SmallDetForObjectDetection.from_pretrained(folder).eval(), settings
