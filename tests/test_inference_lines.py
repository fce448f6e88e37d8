"""read_frames with a line finder: a two-line cue comes back as two lines joined by "\\n", a frame without a subtitle
as "", and whatever boxes a finder hands back never cost the frame's neighbours."""
from __future__ import annotations

import numpy as np
import pytest
from test_lines import band_with, textured

from zhtw_subtitles.dataset.frames import Frame, to_pil
from zhtw_subtitles.models.confidence import read_with_confidence
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.models.registry import load_for_inference
from zhtw_subtitles.reading.band import band_bounds
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.line_finder import ClassicalLineFinder
from zhtw_subtitles.reading.lines import padded_crop

BAND = (0.0, 0.65, 1.0, 1.0)
LINES = ["你說這話是什麼意思", "我知道但是不行"]


def frame_with_lines(lines: list[str], seed: int = 0) -> tuple[np.ndarray, list[tuple]]:
    """A 1280x720 BGR frame on grain, `lines` centred in its band (white, black outline); each line's box in the band."""
    frame = textured(720, 1280, seed)
    _, top, _, _ = band_bounds(720, 1280, BAND)
    band, boxes = band_with(lines, frame[top:], bottom=230, spacing=66)
    frame[top:] = band
    return frame, [tuple(round(v) for v in box) for box in boxes]


class FixedBoxes:
    """A line finder that reports the boxes it was given, whatever the band holds."""

    def __init__(self, boxes: list[tuple]):
        self.boxes = boxes
        self.calls: list[int] = []

    def find_lines(self, bands: list[np.ndarray]) -> list[list[tuple]]:
        self.calls.append(len(bands))
        return [list(self.boxes) for _ in bands]


@pytest.fixture(scope="module")
def reader():
    return load_for_inference("ppocr_v6_small")


def test_the_classical_finder_reads_a_two_line_cue_as_two_lines(reader):
    frame, _ = frame_with_lines(LINES)
    _, texts, _ = read_frames(reader, [Frame("two", frame)], BAND, batch_size=4, line_finder=ClassicalLineFinder())
    assert texts == ["\n".join(LINES)]


def test_a_frame_without_a_subtitle_reads_as_empty(reader):
    frames = [Frame("grain", textured(720, 1280, seed=5)), Frame("one", frame_with_lines(LINES[:1])[0]),
              Frame("black", np.zeros((720, 1280, 3), np.uint8))]
    ids, texts, unreadable = read_frames(reader, frames, BAND, batch_size=2)  # the default finder: classical
    assert dict(zip(ids, texts)) == {"grain": "", "one": LINES[0], "black": ""} and unreadable == []


def test_the_finder_s_boxes_are_read_in_the_order_given_and_batched_over_frames(reader):
    frame, boxes = frame_with_lines(LINES)
    finder = FixedBoxes(boxes)
    frames = [Frame(f"f{i}", frame) for i in range(5)]
    _, texts, _ = read_frames(reader, frames, BAND, batch_size=2, line_finder=finder)
    assert texts == ["\n".join(LINES)] * 5 and finder.calls == [2, 2, 1]
    _, texts, _ = read_frames(reader, frames[:1], BAND, batch_size=2, line_finder=FixedBoxes(boxes[::-1]))
    assert texts == ["\n".join(LINES[::-1])]


def test_no_box_empty_boxes_and_blank_lines_give_empty_text(reader):
    frame, boxes = frame_with_lines(LINES)
    blank_line = (10, 10, 400, 60)  # a flat patch above the subtitle: the recogniser reads nothing there
    top = band_bounds(720, 1280, BAND)[1]
    frame[top:top + 80, :420] = 90
    for finder_boxes, expected in (([], ""), ([(5, 5, 5, 40), (30, 30, 30, 30)], ""),
                                   ([blank_line, boxes[1]], LINES[1])):
        _, texts, unreadable = read_frames(reader, [Frame("f", frame)], BAND, batch_size=2,
                                           line_finder=FixedBoxes(finder_boxes))
        assert texts == [expected] and unreadable == []


def test_a_line_read_less_surely_than_min_confidence_is_dropped(reader):
    frame, boxes = frame_with_lines(LINES)
    band = frame[band_bounds(720, 1280, BAND)[1]:]
    crops = [to_pil(np.ascontiguousarray(padded_crop(band, box))) for box in boxes]
    readings = read_with_confidence(reader, preprocess(crops))
    assert [text for text, _ in readings] == LINES
    (less_sure, low), (surer, high) = sorted(readings, key=lambda reading: reading[1])
    assert 0.5 < low < high < 1
    for min_confidence, expected in ((0.0, "\n".join(LINES)), ((low + high) / 2, surer), (high + 1e-6, "")):
        _, texts, _ = read_frames(reader, [Frame("f", frame)], BAND, batch_size=2, line_finder=FixedBoxes(boxes),
                                  min_confidence=min_confidence)
        assert texts == [expected], (min_confidence, low, high)
