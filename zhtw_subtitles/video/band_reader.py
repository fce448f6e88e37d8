"""Reads the subtitle lines of chosen frames in batches, and gives each frame's reading back by a ticket number.

A CTC recogniser reads every line crop on its own (a two-line cue is read as two lines and keeps its line break)
and says how sure it is; a VLM reads the band around all the lines at once and is taken as sure."""
from __future__ import annotations

import numpy as np

from zhtw_subtitles.dataset.frames import to_pil
from zhtw_subtitles.models.confidence import read_with_confidence
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.reading.band import Box
from zhtw_subtitles.reading.lines import padded_crop, union_box
from zhtw_subtitles.video.cues import Reading

# Lines wait until this many batches are queued, then go in order of width: each batch is padded to its widest
# line, so batches of like widths waste little.
QUEUED_BATCHES = 4


class BatchedBandReader:
    def __init__(self, model, batch_size: int):
        self.model = model
        self.batch_size = batch_size
        self.reads_bands = getattr(model, "reads_bands", False)
        self.queue: list[tuple[int, int, np.ndarray]] = []  # ticket, line, image
        self.lines: dict[int, list[tuple[str, float] | None]] = {}

    def submit(self, band: np.ndarray, boxes: tuple[Box, ...]) -> int:
        """Queue the lines in `boxes` of a BGR band; returns the ticket of this reading."""
        ticket = len(self.lines)
        crops = [padded_crop(band, union_box(boxes))] if self.reads_bands else [padded_crop(band, box) for box in boxes]
        self.lines[ticket] = [None] * len(crops)
        self.queue.extend((ticket, line, np.ascontiguousarray(crop)) for line, crop in enumerate(crops))
        if len(self.queue) >= QUEUED_BATCHES * self.batch_size:
            self.flush()
        return ticket

    def flush(self) -> None:
        self.queue.sort(key=lambda item: item[2].shape[1] / item[2].shape[0])
        for start in range(0, len(self.queue), self.batch_size):
            batch = self.queue[start:start + self.batch_size]
            images = [image for _, _, image in batch]
            if self.reads_bands:
                results = [(text, 1.0) for text in self.model.read(images)]
            else:
                results = read_with_confidence(self.model, preprocess([to_pil(image) for image in images]))
            for (ticket, line, _), result in zip(batch, results):
                self.lines[ticket][line] = result
        self.queue.clear()

    def reading(self, ticket: int) -> Reading:
        """The frame's lines joined by "\\n", with the confidence of its least sure line; flushes if needed."""
        if any(result is None for result in self.lines[ticket]):
            self.flush()
        texts, confidences = zip(*self.lines[ticket])
        return Reading("\n".join(text.strip() for text in texts if text.strip()), min(confidences))

