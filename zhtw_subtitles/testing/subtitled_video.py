"""Builds short videos with burned-in subtitles and the .srt they were burned from, for the video tests and bench.

The pictures are the embedded photographs panned slowly, with hard scene cuts between them; the subtitles are
white Noto Sans TC at the bottom centre, in a black outline, or on a dark box as news channels draw them, or with
only a soft drop shadow, drawn on every frame whose presentation time lies in a cue's [start, end). Frames are
encoded with PyAV (H.264), so the tests decode exactly what a user's file holds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np
import pysubs2
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.synth.backgrounds import embedded_backgrounds, load_bgr
from zhtw_subtitles.synth.fonts import embedded_fonts


@dataclass(frozen=True)
class TimedText:
    start_ms: int
    end_ms: int
    text: str  # "\n" between the lines of a two-line cue


# Cues of different lengths, a gap, a one-character cue under half a second, a two-line cue, and a cue
# during which the scene cuts (at SCENE_SECONDS).
TEST_CUES = (
    TimedText(300, 1720, "我們明天見"),
    TimedText(2130, 2490, "好"),
    TimedText(2900, 4860, "這是一個國際學校"),
    TimedText(5300, 7100, "你說話什麼意思\n我知道但是不行"),
    TimedText(7100, 7900, "謝謝你的幫忙"),
)
TEST_SCENES = (4.0, 8.5)
STYLES = ("outline", "box", "shadow")  # seconds each photograph stays on screen; the cut falls inside the third cue


def write_srt(cues: Sequence[TimedText], path: Path) -> Path:
    subtitles = pysubs2.SSAFile()
    for cue in cues:
        subtitles.append(pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms, text=cue.text.replace("\n", r"\N")))
    subtitles.save(str(path), encoding="utf-8", format_="srt")
    return path


def frame_times(duration_s: float, fps: float, vfr: bool = False) -> list[Fraction]:
    """Presentation times of the frames; `vfr` alternates frame durations of 1 and 1.5 frame periods."""
    times, now, step = [], Fraction(0), Fraction(1) / Fraction(fps).limit_denominator(1001)
    index = 0
    while now < duration_s:
        times.append(now)
        now += step * (Fraction(3, 2) if vfr and index % 2 else 1)
        index += 1
    return times


def write_subtitled_video(path: Path, cues: Sequence[TimedText], duration_s: float, size: tuple[int, int] = (640, 360),
                          fps: float = 25, scenes: Sequence[float] = TEST_SCENES, vfr: bool = False,
                          crf: int = 23, movflags: str | None = None, style: str = "outline",
                          colour: tuple[int, int, int] = (255, 255, 255)) -> list[Fraction]:
    """Encode the video; returns the presentation time (seconds) of every frame. `movflags="faststart"` puts the
    MP4 index before the frames; `style` is one of STYLES, `colour` the text's (RGB)."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    width, height = size
    font = _font(round(height * 0.075))
    overlays = {cue: _subtitle_overlay(cue.text, font, width, style, colour) for cue in cues}
    photos = _scene_photos(len(scenes))
    times = frame_times(duration_s, fps, vfr)
    time_base = Fraction(1, 1000) if vfr else 1 / Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", options={"movflags": movflags} if movflags else None) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base  # the encoder rounds pts to its own
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for time in times:
            scene, into = _scene_at(float(time), scenes)
            picture = _panned(photos[scene], into, (width, height))
            shown = [cue for cue in cues if cue.start_ms <= time * 1000 < cue.end_ms]
            for cue in shown:
                _burn(picture, overlays[cue])
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            frame.pts = int(time / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return times


def truncate(source: Path, target: Path, fraction: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """A file with one audio stream and no video (an .m4a-like MP4)."""
    rate = 16000
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = (0.1 * np.sin(np.arange(int(rate * seconds)) / 10)).astype(np.float32)[None, :]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate = rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    face = embedded_fonts()["noto_sans_tc"]
    return ImageFont.truetype(face.path, size=size, index=face.index)


def _subtitle_overlay(text: str, font: ImageFont.FreeTypeFont, width: int, style: str,
                      colour: tuple[int, int, int]) -> np.ndarray:
    """A frame-wide BGRA tile of the lines, each centred: glyphs of `colour` in a black outline, on a dark box (75%
    opaque, a quarter of the font size beyond the text), or over a blurred black shadow moved down and right."""
    stroke = max(2, round(font.size / 14))
    lines = text.split("\n")
    line_height = round(font.size * 1.3)
    tile = Image.new("RGBA", (width, line_height * len(lines) + 2 * stroke), (0, 0, 0, 0))
    shadow = Image.new("L", tile.size, 0)
    draw = ImageDraw.Draw(tile)
    outline = stroke if style == "outline" else 0
    offset = max(2, round(font.size / 12))
    for row, line in enumerate(lines):
        left, top, right, bottom = draw.textbbox((0, 0), line, font=font, stroke_width=outline)
        x, y = (width - (right - left)) // 2 - left, row * line_height + stroke
        if style == "box":
            pad = round(font.size / 4)
            draw.rectangle((x + left - pad, y + top - pad // 2, x + right + pad, y + bottom + pad // 2), fill=(0, 0, 0, 190))
        if style == "shadow":
            ImageDraw.Draw(shadow).text((x + offset, y + offset), line, font=font, fill=255)
        draw.text((x, y), line, font=font, fill=(*colour, 255), stroke_width=outline, stroke_fill=(0, 0, 0, 255))
    rgba = np.asarray(tile).copy()
    if style == "shadow":  # under the text: the shadow shows only where the text is not
        alpha = cv2.GaussianBlur(np.asarray(shadow), (0, 0), offset / 2).astype(np.float32) * 0.9
        text_alpha = rgba[:, :, 3:4].astype(np.float32) / 255
        rgba[:, :, :3] = (rgba[:, :, :3] * text_alpha).astype(np.uint8)
        rgba[:, :, 3] = np.maximum(rgba[:, :, 3], alpha * (1 - text_alpha[:, :, 0])).astype(np.uint8)
    return np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]])


def _burn(picture: np.ndarray, tile: np.ndarray) -> None:
    """Blend the subtitle tile into the picture, its bottom 6% of the height above the frame's."""
    top = picture.shape[0] - round(0.06 * picture.shape[0]) - tile.shape[0]
    region = picture[top:top + tile.shape[0]]
    alpha = tile[:, :, 3:4].astype(np.uint16)
    region[:] = ((region * (255 - alpha) + tile[:, :, :3] * alpha + 127) // 255).astype(np.uint8)


def _scene_photos(count: int) -> list[np.ndarray]:
    # No photograph with lettering in the band (the motorcycles say YAMAHA): scene text is another test.
    names = ("coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "camera.png")
    paths = {path.name: path for path in embedded_backgrounds()}
    return [load_bgr(str(paths[names[index % len(names)]])) for index in range(count)]


def _scene_at(time: float, scenes: Sequence[float]) -> tuple[int, float]:
    """Index of the scene shown at `time` (the last one lasts forever) and the fraction of it that has passed."""
    start = 0.0
    for index, length in enumerate(scenes):
        if time < start + length or index == len(scenes) - 1:
            return index, min(1.0, (time - start) / length)
        start += length
    raise ValueError("no scenes")


def _panned(photo: np.ndarray, progress: float, size: tuple[int, int]) -> np.ndarray:
    """A 16:9 window over 80% of the photo's width, sliding left to right as the scene goes on."""
    height, width = photo.shape[:2]
    window_w = int(width * 0.8)
    window_h = min(height, round(window_w * size[1] / size[0]))
    left = round((width - window_w) * progress)
    top = (height - window_h) // 2
    return cv2.resize(photo[top:top + window_h, left:left + window_w], size, interpolation=cv2.INTER_AREA)
