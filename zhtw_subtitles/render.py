"""Draws one synthetic TV frame: a varied background with a white, black-stroked subtitle at the bottom centre."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .backgrounds import Background, BackgroundVariation, draw_background, plan_background
from .config import build, require
from .fonts import FontFace

# The study's frame tiers: a background up to `max_area` pixels becomes a width x height frame whose
# subtitle font size lies in [font_min, font_max]; `max_area: null` is the last, open-ended tier.
STUDY_TIERS = (
    (315_000, 640, 360, 27, 36),
    (660_000, 854, 480, 35, 48),
    (1_560_800, 1280, 720, 50, 70),
    (None, 1920, 1080, 75, 100),
)


@dataclass(frozen=True)
class FrameTier:
    max_area: int | None
    width: int
    height: int
    font_min: int
    font_max: int


@dataclass(frozen=True)
class RenderConfig:
    num_images: int = 4000
    num_test_images: int = 400
    shard_size: int = 1000
    workers: int = 0  # 0: one per CPU core
    fonts: tuple[str, ...] = ("noto_sans_tc", "noto_serif_tc")
    font_dir: str | None = None
    use_embedded_backgrounds: bool = True
    background_dir: str | None = None
    background: BackgroundVariation = field(default_factory=BackgroundVariation)
    frame_tiers: tuple[FrameTier, ...] = tuple(FrameTier(*t) for t in STUDY_TIERS)
    text_rgb_min: int = 250  # each channel of the text colour lies in [text_rgb_min, 255]
    stroke_width: int = 2  # the study's black outline, in pixels
    stroke_extra: tuple[int, int] = (0, 1)  # extra outline pixels drawn per frame
    # The text's top edge lies between h - a*text_h and h - b*text_h for (a, b) = text_top_heights.
    text_top_heights: tuple[float, float] = (3.0, 2.0)
    shadow_prob: float = 0.3
    shadow_offset: tuple[int, int] = (1, 3)
    shadow_blur: tuple[float, float] = (0.0, 1.5)
    shadow_opacity: tuple[float, float] = (0.4, 0.8)
    rescale_prob: float = 0.2  # down- then up-sample the frame, as from a lower-resolution source
    rescale_factor: tuple[float, float] = (0.6, 0.9)
    blur_prob: float = 0.2
    blur_radius: tuple[float, float] = (0.3, 0.9)
    jpeg_quality: tuple[int, int] = (60, 95)

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
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue(), {**meta, "jpeg_quality": quality}


def compose_frame(text: str, faces: list[FontFace], backgrounds: list[Background], config: RenderConfig,
                  rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """The frame's pixels before compression, and what was drawn."""
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
    origin = (ink_left - left, ink_top - top)
    colour = tuple(int(c) for c in rng.integers(config.text_rgb_min, 256, size=3))

    shadow = rng.random() < config.shadow_prob
    if shadow:
        _draw_shadow(frame, text, font, origin, stroke, config, rng)
    ImageDraw.Draw(frame).text(origin, text, fill=colour, font=font, stroke_width=stroke, stroke_fill=(0, 0, 0))

    rescale = float(rng.uniform(*config.rescale_factor)) if rng.random() < config.rescale_prob else 1.0
    if rescale != 1.0:
        small = (max(1, int(width * rescale)), max(1, int(height * rescale)))
        frame = frame.resize(small, Image.Resampling.BILINEAR).resize((width, height), Image.Resampling.BILINEAR)
    blur = float(rng.uniform(*config.blur_radius)) if rng.random() < config.blur_prob else 0.0
    if blur:
        frame = frame.filter(ImageFilter.GaussianBlur(blur))
    meta = {
        "text": text,
        "font": face.name,
        "font_size": font.size,
        "stroke_width": stroke,
        "text_box": [ink_left - stroke, ink_top - stroke, ink_left + text_w + stroke, ink_top + text_h + stroke],
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


def _draw_shadow(frame: Image.Image, text: str, font: ImageFont.FreeTypeFont, origin: tuple[int, int],
                 stroke: int, config: RenderConfig, rng: np.random.Generator) -> None:
    """A soft dark copy of the stroked text, offset down-right, composited on a small patch only."""
    dx, dy = (_uniform_int(rng, config.shadow_offset) for _ in range(2))
    radius = float(rng.uniform(*config.shadow_blur))
    opacity = float(rng.uniform(*config.shadow_opacity))
    margin = stroke + int(np.ceil(3 * radius)) + 2
    left, top, right, bottom = font.getbbox(text)
    box = (max(0, origin[0] + left + dx - margin), max(0, origin[1] + top + dy - margin),
           min(frame.width, origin[0] + right + dx + margin), min(frame.height, origin[1] + bottom + dy + margin))
    mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    ImageDraw.Draw(mask).text((origin[0] + dx - box[0], origin[1] + dy - box[1]), text, fill=255, font=font,
                              stroke_width=stroke, stroke_fill=255)
    if radius > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(radius))
    mask = mask.point(lambda v: int(v * opacity))
    frame.paste((0, 0, 0), box, mask)
