"""Decoding a video with PyAV: every frame with its presentation time from the container, and the subtitle band of
a frame in OpenCV's BGR order, converted from YUV for the band's rows only."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Full, Queue
from typing import Self

import av
import cv2
import numpy as np

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.reading.band import Crop, band_bounds

TRUNCATED_SHARE = 0.98  # a video that decodes fewer of the frames its header counts is reported truncated
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".mov", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".flv", ".wmv", ".mpg",
                  ".mpeg"}

# 8-bit YUV 4:2:0 layouts whose planes OpenCV converts directly; any other layout goes through FFmpeg's swscale.
I420_FORMATS = {"yuv420p", "yuvj420p"}


class VideoError(ValueError):
    """The file cannot be read as a video; the message names the file and what is wrong with it."""


def video_files(folder: Path) -> list[Path]:
    """The videos of `folder` (by suffix), sorted; two of one name would write the same subtitle file."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder: create it (it may stay empty) or point transcribe.videos_dir "
                          "at your videos")
    videos = sorted(path for path in folder.iterdir() if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file())
    stems = [video.stem for video in videos]
    clashing = sorted({stem for stem in stems if stems.count(stem) > 1})
    if clashing:
        raise ConfigError(f"{folder} holds several videos named {clashing[0]}: rename one, each gets {clashing[0]}.srt")
    return videos


@dataclass(frozen=True)
class TimedFrame:
    time: float  # seconds since the video's start, from the frame's presentation timestamp
    frame: av.VideoFrame


@dataclass(frozen=True)
class VideoInfo:
    duration: float | None  # seconds, when the container says
    width: int
    height: int
    frames: int  # as the container's header counts them; 0 when unknown


class Video:
    """An open video file: `info`, then `frames()` once, in presentation order."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError) as error:
            raise VideoError(f"{self.path} cannot be opened as a video ({_reason(error)}): "
                             "is it a video file, and is it complete?") from None
        if not self.container.streams.video:
            others = _other_streams(self.container)
            self.container.close()
            raise VideoError(f"{self.path} holds no video stream{others}")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        duration = (float(self.stream.duration * self.stream.time_base) if self.stream.duration
                    else self.container.duration / av.time_base if self.container.duration else None)
        self.info = VideoInfo(duration, self.stream.codec_context.width, self.stream.codec_context.height,
                              self.stream.frames)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_) -> None:
        self.container.close()

    def shown_for(self, frame: av.VideoFrame) -> float:
        """Seconds the frame stays on screen: its duration in the container, else one period of the stream's rate."""
        if frame.duration and frame.time_base:
            return float(frame.duration * frame.time_base)
        rate = self.stream.average_rate or self.stream.base_rate
        return 1 / float(rate) if rate else 0.0

    def frames(self) -> Iterator[TimedFrame]:
        start = self.stream.start_time or 0
        time_base = self.stream.time_base
        count, time = 0, 0.0
        try:
            for frame in self.container.decode(self.stream):
                if frame.pts is None:
                    raise VideoError(f"{self.path}: its frames carry no presentation timestamps; remux it into "
                                     "MP4 or MKV first (ffmpeg -i IN -c copy OUT.mkv)")
                time = float((frame.pts - start) * time_base)
                count += 1
                yield TimedFrame(time, frame)
        except av.error.FFmpegError as error:
            raise VideoError(f"{self.path}: decoding failed after {time:.3f} s ({_reason(error)}): "
                             "the file is damaged or truncated") from None
        # Edit lists can hide a frame or two of the count in the header; a cut file misses far more.
        if count < TRUNCATED_SHARE * self.info.frames:
            raise VideoError(f"{self.path}: only {count} of its {self.info.frames} frames could be decoded: "
                             "the file is truncated")


def band_bgr(frame: av.VideoFrame, crop: Crop | None) -> np.ndarray:
    """The crop of the frame as a BGR uint8 array; only the band's rows are colour-converted."""
    x0, y0, x1, y1 = band_bounds(frame.height, frame.width, crop)
    if frame.format.name not in I420_FORMATS or frame.width % 2 or frame.height % 2:
        return frame.to_ndarray(format="bgr24")[y0:y1, x0:x1]
    top, bottom = y0 - y0 % 2, y1 + y1 % 2  # chroma rows cover two luma rows
    luma, blue, red = (_plane(plane) for plane in frame.planes[:3])
    i420 = np.concatenate([luma[top:bottom].ravel(), blue[top // 2:bottom // 2].ravel(),
                           red[top // 2:bottom // 2].ravel()]).reshape(-1, frame.width)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    return bgr[y0 - top:y1 - top, x0:x1]


@contextlib.contextmanager
def decoded_ahead(frames: Iterator[TimedFrame], depth: int) -> Iterator[Iterator[TimedFrame]]:
    """`frames` decoded in a thread of their own, up to `depth` ahead of the reader: FFmpeg decodes without holding
    Python's lock, so decoding overlaps the work on the frames already out. A decoding error is raised to the reader;
    leaving the block stops the thread (before the video may be closed)."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    finished = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def decode() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(finished)
        except Exception as error:  # noqa: BLE001 -- whatever stops decoding is raised to the reader
            put(error)

    def read() -> Iterator[TimedFrame]:
        while (item := queue.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=decode, name="decode", daemon=True)
    thread.start()
    try:
        yield read()
    finally:
        stop.set()
        thread.join()


def _plane(plane) -> np.ndarray:
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _other_streams(container) -> str:
    kinds = sorted({stream.type for stream in container.streams})
    return f" (only {' and '.join(kinds)})" if kinds else ""
