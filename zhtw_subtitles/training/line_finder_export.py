"""The trained line finder made ready for inference: saved (save_pretrained + float32 ONNX), optionally quantised to
int8 with activation ranges from training bands, and its box outsets measured on those bands with the model that
inference will run, all written into one folder."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tqdm import tqdm
from transformers import PPOCRV6SmallDetForObjectDetection

from zhtw_subtitles.models.line_boxes import fit_outsets, line_blobs
from zhtw_subtitles.models.line_detector import (
    INT8_ONNX_FILE,
    LineFinderSettings,
    Probabilities,
    onnx_probabilities,
    resize_band,
    save_line_finder,
    shrunk_box,
    to_pixel_values,
    write_settings,
)
from zhtw_subtitles.models.onnx_int8 import quantize_int8
from zhtw_subtitles.training.finetune_line_finder import Band, box_iou

MIN_MATCH_IOU = 0.3  # a blob belongs to the rendered line whose shrunk box it overlaps this much
# The backbone's stem and first stage stay float32 in the int8 model: they see the pixels through few channels, and
# in int8 the finder missed 43 of the development split's 3,298 lines where float32 missed 12 (this float stem and
# stage: 11, the stem alone: 16) at about the int8 speed (docs/line_finder.md).
FLOAT_LAYERS = ("/model/backbone/encoder/convolution/", "/model/backbone/encoder/blocks.0/")


def measured_outsets(probabilities: Probabilities, settings: LineFinderSettings, bands: list[Band]) -> tuple[float, float]:
    """fit_outsets over the lines of `bands`: each rendered line paired with the blob that best overlaps its shrunk
    box (the area the model was taught to light up), in model-input pixels; the settings' own outsets, with a
    warning, when the model finds none of the lines (a model trained for a few steps)."""
    pairs = []
    for band in tqdm(bands, desc="line finder: outsets", unit="band"):
        image = resize_band(band.pixels, settings.input_height)
        probability = probabilities(to_pixel_values([image]))[0][:, :image.shape[1]]
        blobs = line_blobs(probability, settings.boxes)
        scale = image.shape[0] / band.pixels.shape[0]
        for line in band.lines:
            line = tuple(value * scale for value in line)
            target = shrunk_box(line, settings.shrink)
            blob = max(blobs, key=lambda b: box_iou(b, target), default=None)
            if blob is not None and box_iou(blob, target) >= MIN_MATCH_IOU:
                pairs.append((blob, line))
    if not pairs:
        print(f"line finder: none of the {sum(len(band.lines) for band in bands)} lines of the calibration frames was "
              f"found; the boxes keep the outsets that undo the training masks' shrink")
        return settings.outset_vertical, settings.outset_horizontal
    return fit_outsets(pairs)


def export_line_finder(model: PPOCRV6SmallDetForObjectDetection, settings: LineFinderSettings, int8: bool,
                       calibration: list[Band], folder: Path, threads: int = 0) -> tuple[LineFinderSettings, Probabilities]:
    """Everything inference needs, in `folder`; returns the final settings and what computes the probabilities."""
    folder = Path(folder)
    save_line_finder(model, settings, folder)
    if int8:
        inputs = [to_pixel_values([resize_band(band.pixels, settings.input_height)]) for band in calibration]
        quantize_int8(folder / settings.onnx_file, folder / INT8_ONNX_FILE, "pixel_values", inputs, FLOAT_LAYERS)
        settings = dataclasses.replace(settings, onnx_file=INT8_ONNX_FILE)
    probabilities = onnx_probabilities(folder / settings.onnx_file, threads)
    vertical, horizontal = measured_outsets(probabilities, settings, calibration)
    settings = dataclasses.replace(settings, outset_vertical=vertical, outset_horizontal=horizontal)
    write_settings(folder, settings)
    return settings, probabilities
