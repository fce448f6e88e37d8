"""Background pictures: the embedded photographs, a user folder or decoded video frames (videos.py), validated once,
varied per frame."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from zhtw_subtitles.core.config import ConfigError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
# Real photographs that scikit-image ships inside its wheel (no network); its charts and text pages are left out.
EMBEDDED_PHOTOS = (
    "astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png",
    "motorcycle_right.png", "rocket.jpg", "camera.png", "coins.png", "moon.png", "grass.png",
    "gravel.png", "brick.png", "clock_motion.png",
)


def embedded_backgrounds() -> list[Path]:
    folder = resources.files("skimage") / "data"
    return [Path(str(folder / name)) for name in EMBEDDED_PHOTOS]


@dataclass(frozen=True, eq=False)
class Background:
    """A picture file, read when drawn, or a video frame decoded beforehand (`path` is then "<video>@<time>s")."""
    path: str
    size: tuple[int, int]
    pixels: np.ndarray | None = None  # BGR

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def bgr(self) -> np.ndarray:
        return load_bgr(self.path) if self.pixels is None else self.pixels


def background_source(name: str) -> str:
    """Where the background a frame's metadata names came from: a video's file name, or the pictures' source."""
    video = re.fullmatch(r"(.+)@\d+\.\d{3}s", name)
    if video:
        return video.group(1)
    return "embedded photographs" if name in EMBEDDED_PHOTOS else "background_dir"


def picture_files(use_embedded: bool, background_dir: str | None) -> list[Path]:
    """The embedded photographs and/or the pictures in `background_dir`, in a stable order."""
    candidates = embedded_backgrounds() if use_embedded else []
    if background_dir:
        folder = Path(background_dir)
        if not folder.is_dir():
            raise ConfigError(f"render.background_dir '{background_dir}' is not a folder")
        candidates += sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return candidates


def find_backgrounds(use_embedded: bool, background_dir: str | None) -> tuple[list[Background], list[str]]:
    """Readable background files in a stable order, and the names of files that could not be decoded."""
    readable, corrupt = [], []
    for path in picture_files(use_embedded, background_dir):
        size = _decoded_size(path)
        if size is None:
            corrupt.append(str(path))
        else:
            readable.append(Background(str(path), size))
    if not readable:
        raise ConfigError(
            "no readable background image: set render.use_embedded_backgrounds: true or point "
            f"render.background_dir at a folder of pictures ({len(corrupt)} unreadable file(s) skipped)"
        )
    return readable, corrupt


def _decoded_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            image.load()
            return image.size
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


@lru_cache(maxsize=32)
def load_bgr(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


@dataclass(frozen=True)
class BackgroundVariation:
    """The `render.background` params."""
    crop_area: tuple[float, float]  # fraction of the picture kept
    aspect_jitter: float  # crop aspect = 16:9 times a factor in [1-j, 1+j]
    # The cropped picture's size is scaled by this (log-uniform) before the frame tier is chosen by area,
    # so that small photographs also yield 720p and 1080p frames.
    scale: tuple[float, float]
    flip_prob: float
    colour_shift: float  # per-channel gain in [1-c, 1+c]
    brightness: float  # overall gain in [1-b, 1+b]


@dataclass(frozen=True)
class BackgroundPlan:
    """Everything random about one frame's background, drawn before any pixel work."""

    background: Background
    box: tuple[int, int, int, int]
    source_area: float
    flip: bool
    gains: tuple[float, float, float]


def plan_background(backgrounds: list[Background], variation: BackgroundVariation,
                    rng: np.random.Generator) -> BackgroundPlan:
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    width, height = background.size
    area = width * height * rng.uniform(*variation.crop_area)
    aspect = 16 / 9 * rng.uniform(1 - variation.aspect_jitter, 1 + variation.aspect_jitter)
    crop_w = int(min(width, max(16, round((area * aspect) ** 0.5))))
    crop_h = int(min(height, max(9, round(crop_w / aspect))))
    left = int(rng.integers(width - crop_w + 1))
    top = int(rng.integers(height - crop_h + 1))
    scale = float(np.exp(rng.uniform(*np.log(variation.scale))))
    brightness = rng.uniform(1 - variation.brightness, 1 + variation.brightness)
    gains = rng.uniform(1 - variation.colour_shift, 1 + variation.colour_shift, size=3) * brightness
    return BackgroundPlan(
        background=background,
        box=(left, top, left + crop_w, top + crop_h),
        source_area=crop_w * crop_h * scale * scale,
        flip=bool(rng.random() < variation.flip_prob),
        gains=(float(gains[0]), float(gains[1]), float(gains[2])),
    )


def draw_background(plan: BackgroundPlan, size: tuple[int, int]) -> np.ndarray:
    """The planned crop, colour-shifted, flipped and resized to `size`: a uint8 array in OpenCV's BGR order."""
    left, top, right, bottom = plan.box
    crop = plan.background.bgr()[top:bottom, left:right]
    ramp = np.arange(256, dtype=np.float32)[:, None]
    lut = np.clip(ramp * np.asarray(plan.gains[::-1], dtype=np.float32), 0, 255).astype(np.uint8)
    # Colour and flip first: the crop is usually smaller than the frame.
    crop = cv2.LUT(np.ascontiguousarray(crop), lut[None])
    if plan.flip:
        crop = cv2.flip(crop, 1)
    shrinking = size[0] * size[1] < crop.shape[0] * crop.shape[1]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
