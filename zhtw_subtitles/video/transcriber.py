"""Video in, cues out.

Every frame is decoded (H.264 cannot skip any), but only a few per second are looked at: on each sampled frame the
subtitle band is reduced to its text lines' glyph mask. When the mask of one sample differs from the previous one,
the frames decoded in between are searched by bisection for the first frame that shows the new glyphs, so a cue
starts and ends on the exact frame. Each stretch of frames with the same glyphs is read on a few of its sampled
frames, in batches, and the readings are voted into one cue.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from zhtw_subtitles.core.config import require
from zhtw_subtitles.reading.band import Box, Crop
from zhtw_subtitles.reading.line_finder import LineFinder
from zhtw_subtitles.video.band_reader import BatchedBandReader
from zhtw_subtitles.video.changes import BandText, band_text, subtitle_changed
from zhtw_subtitles.video.cues import Cue, Stretch, assemble
from zhtw_subtitles.video.decode import TimedFrame, Video, band_bgr, decoded_ahead

# Bands wider than this are looked at scaled down to it, for half the work on a 720p video; lines are still read
# at full resolution. At 640 the strokes of a small one-character subtitle thin out until the locator drops it.
ANALYSIS_WIDTH = 960
DECODE_AHEAD = 16  # frames
# The decoding thread keeps the other core busy, and the line finder looks at one band at a time: 20 ms a 960-pixel
# band on one thread against 32 ms on two, on the 2-core machine.
FINDER_THREADS = 1
PROGRESS = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s of video [{elapsed}<{remaining}]"


@dataclass(frozen=True)
class VideoReading:
    sample_fps: float  # frames per second whose band is compared; a cue shorter than 1/sample_fps may be missed
    reads_per_cue: int  # at most this many sampled frames of a cue are read and voted on
    read_interval_s: float  # seconds between two readings of the same cue
    change_threshold: float  # share of glyph pixels that must differ between two frames for a new subtitle
    merge_gap_ms: float  # neighbouring cues read alike merge across a flicker gap this long
    min_confidence: float  # cues read with less mean confidence are dropped
    batch_size: int  # line crops per recogniser call

    def __post_init__(self) -> None:
        require(self.sample_fps > 0, f"sample_fps must be > 0, got {self.sample_fps}")
        require(self.reads_per_cue >= 1, f"reads_per_cue must be >= 1, got {self.reads_per_cue}")
        require(self.read_interval_s >= 0, f"read_interval_s must be >= 0, got {self.read_interval_s}")
        require(0 < self.change_threshold < 1, f"change_threshold must lie in (0, 1), got {self.change_threshold}")
        require(self.merge_gap_ms >= 0, f"merge_gap_ms must be >= 0, got {self.merge_gap_ms}")
        require(0 <= self.min_confidence <= 1, f"min_confidence must lie in [0, 1], got {self.min_confidence}")
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")


@dataclass
class _Sample:
    frame: TimedFrame
    band: np.ndarray  # at the video's resolution, for reading
    text: BandText  # found on the band scaled to ANALYSIS_WIDTH at most
    scale: float  # of the analysed band to `band`

    def line_boxes(self) -> tuple[Box, ...]:
        """The text lines' boxes in `band`'s pixels."""
        height, width = self.band.shape[:2]
        return tuple((round(x0 / self.scale), round(y0 / self.scale), min(width, round(x1 / self.scale)),
                      min(height, round(y1 / self.scale))) for x0, y0, x1, y1 in self.text.boxes)


class _Scanner:
    """Feeds on decoded frames; keeps the stretches found so far and the frames decoded since the last sample."""

    def __init__(self, crop: Crop | None, config: VideoReading, reader: BatchedBandReader, finder: LineFinder | None):
        self.crop = crop
        self.finder = finder
        self.config = config
        self.reader = reader
        self.stretches: list[Stretch] = []
        self.tickets: list[list[int]] = []  # per stretch, the tickets of its readings
        self.last_read: list[float] = []
        self.since_sample: list[TimedFrame] = []
        self.previous: _Sample | None = None
        self.next_sample_time = 0.0

    def push(self, frame: TimedFrame) -> None:
        self.since_sample.append(frame)
        if self.previous is None or frame.time >= self.next_sample_time:
            self._sample()

    def finish(self, end: float) -> list[Stretch]:
        if self.since_sample:
            self._sample()
        if self.stretches:
            self.stretches[-1].end = end
        for stretch, tickets in zip(self.stretches, self.tickets):
            stretch.readings = [self.reader.reading(ticket) for ticket in tickets]
        return self.stretches

    def _look(self, frame: TimedFrame) -> _Sample:
        band = band_bgr(frame.frame, self.crop)
        scale = min(1.0, ANALYSIS_WIDTH / band.shape[1])
        if scale == 1.0:
            return _Sample(frame, band, band_text(band, self.finder), 1.0)
        small = cv2.resize(band, (ANALYSIS_WIDTH, max(1, round(band.shape[0] * scale))), interpolation=cv2.INTER_LINEAR)
        return _Sample(frame, band, band_text(small, self.finder), scale)

    def _sample(self) -> None:
        frames, self.since_sample = self.since_sample, []
        current = self._look(frames[-1])
        while self.next_sample_time <= current.frame.time:
            self.next_sample_time += 1 / self.config.sample_fps
        if self.previous is None:
            self._open(current)
        elif subtitle_changed(self.previous.text, current.text, self.config.change_threshold):
            self._find_changes(frames, current)
        self._maybe_read(current)
        self.previous = current

    def _find_changes(self, frames: list[TimedFrame], current: _Sample) -> None:
        """Opens a stretch at each frame of `frames` (decoded since the previous sample, `current` last) where the
        glyphs change; a subtitle that came and went between two samples gets a stretch, read on its middle frame."""
        looked: dict[int, _Sample] = {len(frames) - 1: current}

        def at(index: int) -> _Sample:
            if index not in looked:
                looked[index] = self._look(frames[index])
            return looked[index]

        before, low = self.previous.text, 0
        while True:
            first = self._first_change(before, low, len(frames) - 1, at)
            if low and self.stretches[-1].has_text:  # frames [low - 1, first) came and went between two samples
                self._read(at((low - 1 + first - 1) // 2), len(self.stretches) - 1)
            self._open(at(first))
            if first == len(frames) - 1 or not subtitle_changed(at(first).text, current.text,
                                                                  self.config.change_threshold):
                return
            before, low = at(first).text, first + 1

    def _first_change(self, before: BandText, low: int, high: int, at: Callable[[int], _Sample]) -> int:
        """The first index in [low, high] whose glyphs differ from `before`; `high`'s do."""
        while low < high:
            middle = (low + high) // 2
            if subtitle_changed(before, at(middle).text, self.config.change_threshold):
                high = middle
            else:
                low = middle + 1
        return high

    def _open(self, sample: _Sample) -> None:
        if self.stretches:
            self.stretches[-1].end = sample.frame.time
        self.stretches.append(Stretch(sample.frame.time, sample.text.has_text))
        self.tickets.append([])
        self.last_read.append(float("-inf"))

    def _maybe_read(self, sample: _Sample) -> None:
        index = len(self.stretches) - 1
        if (self.stretches[index].has_text and sample.text.has_text
                and len(self.tickets[index]) < self.config.reads_per_cue
                and sample.frame.time - self.last_read[index] >= self.config.read_interval_s):
            self._read(sample, index)

    def _read(self, sample: _Sample, stretch: int) -> None:
        self.tickets[stretch].append(self.reader.submit(sample.band, sample.line_boxes()))
        self.last_read[stretch] = sample.frame.time


@dataclass(frozen=True)
class Transcript:
    cues: list[Cue]
    seconds: float  # of video: from the first frame's start to the last frame's end


def transcribe_video(path: Path, model, crop: Crop | None, config: VideoReading, progress: bool = True,
                     line_finder: LineFinder | None = None) -> Transcript:
    """The cues of the subtitles burned into the video at `path`, read by `model` (a line or band reader); the lines
    are boxed by `line_finder` (the learned one: any style), or by the classical locator (outlined text only)."""
    reader = BatchedBandReader(model, config.batch_size)
    scanner = _Scanner(crop, config, reader, line_finder)
    end = 0.0
    with (Video(path) as video, decoded_ahead(video.frames(), DECODE_AHEAD) as frames,
          tqdm(total=video.info.duration, unit="s", desc=Path(path).name, disable=not progress,
               bar_format=PROGRESS if video.info.duration else None) as bar):
        for frame in frames:
            scanner.push(frame)
            end = frame.time + video.shown_for(frame.frame)
            bar.update(max(0.0, frame.time - bar.n))
        bar.update(max(0.0, min(end, bar.total or end) - bar.n))
        stretches = scanner.finish(end)
    return Transcript(assemble(stretches, config.merge_gap_ms / 1000, config.min_confidence), end)
