"""Draws one synthetic TV frame: a varied background with a white, black-stroked subtitle at the bottom centre."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.core.config import build, require
from zhtw_subtitles.synth.backgrounds import (
    Background,
    BackgroundVariation,
    draw_background,
    plan_background,
)
from zhtw_subtitles.synth.fonts import FontFace


@dataclass(frozen=True)
class FrameTier:
    """A background up to `max_area` pixels becomes a width x height frame whose subtitle font size lies in
    [font_min, font_max]; `max_area: null` is the last, open-ended tier."""
    max_area: int | None
    width: int
    height: int
    font_min: int
    font_max: int


@dataclass(frozen=True)
class RenderConfig:
    """The `render` params."""
    num_images: int
    num_test_images: int
    shard_size: int
    workers: int  # 0: one per CPU core
    fonts: tuple[str, ...]
    font_dir: str | None
    use_embedded_backgrounds: bool
    background_dir: str | None
    background: BackgroundVariation
    frame_tiers: tuple[FrameTier, ...]
    text_rgb_min: int  # each channel of the text colour lies in [text_rgb_min, 255]
    stroke_width: int  # black outline, in pixels
    stroke_extra: tuple[int, int]  # extra outline pixels drawn per frame
    # The text's top edge lies between h - a*text_h and h - b*text_h for (a, b) = text_top_heights.
    text_top_heights: tuple[float, float]
    shadow_prob: float
    shadow_offset: tuple[int, int]
    shadow_blur: tuple[float, float]
    shadow_opacity: tuple[float, float]
    rescale_prob: float  # down- then up-sample the frame, as from a lower-resolution source
    rescale_factor: tuple[float, float]
    blur_prob: float
    blur_radius: tuple[float, float]
    jpeg_quality: tuple[int, int]

    def __post_init__(self) -> None:
        if isinstance(self.background, dict):
            object.__setattr__(self, "background", build(BackgroundVariation, self.background, "render.background"))
        tiers = tuple(t if isinstance(t, FrameTier) else FrameTier(*t) for t in self.frame_tiers)
        object.__setattr__(self, "frame_tiers", tiers)
        require(self.num_images > 0, f"render.num_images must be > 0, got {self.num_images}")
        require(self.num_test_images > 0, f"render.num_test_images must be > 0, got {self.num_test_images}")
        require(self.shard_size > 0, f"render.shard_size must be > 0, got {self.shard_size}")
        require(bool(tiers) and tiers[-1].max_area is None,
                "render.frame_tiers must end with an open tier whose max_area is null")
        areas = [t.max_area for t in tiers[:-1]]
        require(areas == sorted(areas) and None not in areas, "render.frame_tiers max_area must increase")
        require(0 <= self.text_rgb_min <= 255, "render.text_rgb_min must lie in [0, 255]")
        require(1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100, "render.jpeg_quality must be 1..100")


def tier_for_area(area: float, tiers: tuple[FrameTier, ...]) -> FrameTier:
    return next(t for t in tiers if t.max_area is None or area <= t.max_area)


@lru_cache(maxsize=256)
def truetype(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face.path, size=size, index=face.index)


def _uniform_int(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def render_frame(text: str, faces: list[FontFace], backgrounds: list[Background], config: RenderConfig,
                 rng: np.random.Generator) -> tuple[bytes, dict]:
    """JPEG bytes of one frame and what was drawn (font, size, text box, degradations)."""
    frame, meta = compose_frame(text, faces, backgrounds, config, rng)
    quality = _uniform_int(rng, config.jpeg_quality)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for a {frame.shape} frame")
    return jpeg.tobytes(), {**meta, "jpeg_quality": quality}


def compose_frame(text: str, faces: list[FontFace], backgrounds: list[Background], config: RenderConfig,
                  rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The frame's pixels before compression (uint8, OpenCV's BGR order), and what was drawn."""
    plan = plan_background(backgrounds, config.background, rng)
    tier = tier_for_area(plan.source_area, config.frame_tiers)
    width, height = tier.width, tier.height
    frame = draw_background(plan, (width, height))

    face = faces[int(rng.integers(len(faces)))]
    font = truetype(face, _uniform_int(rng, (tier.font_min, tier.font_max)))
    stroke = config.stroke_width + _uniform_int(rng, config.stroke_extra)
    left, top, right, bottom = font.getbbox(text)
    if right - left + 2 * stroke > 0.96 * width:  # never crop a line: shrink the font until it fits
        font = truetype(face, max(8, int(font.size * 0.96 * width / (right - left + 2 * stroke))))
        left, top, right, bottom = font.getbbox(text)
    text_w, text_h = right - left, bottom - top
    ink_left = (width - text_w) // 2
    ink_top = int(round(height - rng.uniform(*sorted(config.text_top_heights)) * text_h))
    colour = tuple(int(c) for c in rng.integers(config.text_rgb_min, 256, size=3))
    fill, outline = _text_masks(text, font, (left, top, right, bottom), stroke)
    corner = (ink_left - stroke, ink_top - stroke)  # where the masks' top-left pixel lands

    shadow = rng.random() < config.shadow_prob
    if shadow:
        dx, dy = (_uniform_int(rng, config.shadow_offset) for _ in range(2))
        radius = float(rng.uniform(*config.shadow_blur))
        opacity = float(rng.uniform(*config.shadow_opacity))
        margin = int(np.ceil(3 * radius))
        shadow_corner = (corner[0] + dx - margin, corner[1] + dy - margin)
        _paint(frame, _soft_shadow(outline, margin, radius, opacity), shadow_corner, (0, 0, 0))
    _paint(frame, outline, corner, (0, 0, 0))
    _paint(frame, fill, corner, colour[::-1])

    rescale = float(rng.uniform(*config.rescale_factor)) if rng.random() < config.rescale_prob else 1.0
    blur = float(rng.uniform(*config.blur_radius)) if rng.random() < config.blur_prob else 0.0
    frame = _degrade(frame, rescale, blur)
    meta = {
        "text": text,
        "font": face.name,
        "font_size": font.size,
        "stroke_width": stroke,
        "text_box": [corner[0], corner[1], corner[0] + outline.shape[1], corner[1] + outline.shape[0]],
        "text_height": text_h,
        "width": width,
        "height": height,
        "text_rgb": list(colour),
        "shadow": bool(shadow),
        "rescale": round(rescale, 4),
        "blur": round(blur, 4),
        "background": plan.path.rsplit("/", 1)[-1],
    }
    return frame, meta


def _text_masks(text: str, font: ImageFont.FreeTypeFont, bbox: tuple[int, int, int, int],
                stroke: int) -> tuple[np.ndarray, np.ndarray]:
    """Coverage masks (uint8) of the glyphs and of the glyphs with their outline, aligned on one canvas.

    The canvas starts `stroke` pixels left of and above the glyphs' ink box `bbox`. The outline is the glyph
    mask dilated by a disc of radius `stroke`: the same shape as a round-joined stroke, without FreeType
    stroking every glyph a second time.
    """
    left, top, right, bottom = bbox
    fill = Image.new("L", (right - left + 2 * stroke, bottom - top + 2 * stroke))
    ImageDraw.Draw(fill).text((stroke - left, stroke - top), text, fill=255, font=font)
    fill = np.asarray(fill)
    return fill, cv2.dilate(fill, _disc(stroke))


@lru_cache(maxsize=8)
def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _soft_shadow(outline: np.ndarray, margin: int, radius: float, opacity: float) -> np.ndarray:
    """The outline mask blurred and faded, padded by `margin` pixels so that the blur is not cut off."""
    mask = cv2.copyMakeBorder(outline, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    if radius > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), radius)
    return (mask * opacity).astype(np.uint8)


def _paint(frame: np.ndarray, mask: np.ndarray, corner: tuple[int, int], colour: tuple[int, ...]) -> None:
    """Blend `colour` into `frame` where `mask` covers it, the mask's top-left pixel at `corner` (x, y)."""
    x, y = corner
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], frame.shape[1]), min(y + mask.shape[0], frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    alpha = mask[y0 - y:y1 - y, x0 - x:x1 - x, None].astype(np.uint16)
    region = frame[y0:y1, x0:x1].astype(np.uint16)
    blended = (region * (255 - alpha) + np.asarray(colour, dtype=np.uint16) * alpha + 127) // 255
    frame[y0:y1, x0:x1] = blended.astype(np.uint8)


def _degrade(pixels: np.ndarray, rescale: float, blur: float) -> np.ndarray:
    """Lose detail as a lower-resolution source (down- then up-sampling) and a soft lens (Gaussian blur) do."""
    height, width = pixels.shape[:2]
    if rescale != 1.0:
        small = cv2.resize(pixels, (max(1, int(width * rescale)), max(1, int(height * rescale))), interpolation=cv2.INTER_AREA)
        pixels = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if blur:
        pixels = cv2.GaussianBlur(pixels, (0, 0), blur)
    return pixels
