"""Broadcast looks beyond the classic outlined white line (issue 11): the `render.styles` and `render.layout` params
and each frame's draw of them.

Every choice here comes from a random stream of its own, spawned from the frame's generator without advancing it,
so the classic draws (background, font, size, outline, placement, colour, degradations) stay exactly what they were:
with every look switched off (style_mix all outline, the probabilities 0, aspect 16:9) the frames are byte-identical
to those drawn before these looks existed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zhtw_subtitles.core.config import require
from zhtw_subtitles.synth.backgrounds import BackgroundPlan, draw_background

# outline: black outline (plus render.shadow_prob's shadow); shadow: a soft drop shadow and no outline; box: a dark,
# solid or see-through box behind the text; soft_outline: a grey, blurred outline as on DVD/Blu-ray bitmap subtitles.
STYLES = ("outline", "shadow", "box", "soft_outline")
ASPECTS = ("16:9", "4:3", "9:16")  # 9:16: a vertical frame, the tier's size turned on its side
# The `render.styles` and `render.layout` values that switch every look off: the classic frame of the study.
CLASSIC_STYLES = {"style_mix": {"outline": 1.0}, "colour_prob": 0.0, "bold_prob": 0.0}
CLASSIC_LAYOUT = {"two_line_prob": 0.0, "empty_prob": 0.0, "size_prob": 0.0, "position_prob": 0.0,
                  "aspect_mix": {"16:9": 1.0}, "letterbox_prob": 0.0}


def _check_range(bounds: tuple, low: float, high: float, name: str) -> None:
    require(len(bounds) == 2 and low <= bounds[0] <= bounds[1] <= high,
            f"{name} must be [min, max] with {low} <= min <= max <= {high}, got {list(bounds)}")


def _check_mix(mix: dict, names: tuple[str, ...], name: str) -> None:
    require(isinstance(mix, dict) and set(mix) <= set(names),
            f"{name} maps names from {list(names)} to probabilities, got {mix!r}")
    require(all(p >= 0 for p in mix.values()) and sum(mix.values()) > 0,
            f"{name} needs non-negative weights with a positive sum, got {mix!r}")


def _check_prob(value: float, name: str) -> None:
    require(0 <= value <= 1, f"{name} is a probability in [0, 1], got {value}")


@dataclass(frozen=True)
class TextStyles:
    """The `render.styles` params: how the subtitle's letters look."""
    style_mix: dict[str, float]  # relative weights of STYLES
    shadow_offset: tuple[int, int]  # the shadow style: its drop shadow's offset right and down, in pixels
    shadow_blur: tuple[float, float]
    shadow_opacity: tuple[float, float]
    box_opacity: tuple[float, float]  # the box style: 1 is a solid box
    box_padding: tuple[float, float]  # the box's margin around the text, in line heights
    soft_outline_grey: tuple[int, int]  # the soft_outline style: the outline's grey level
    soft_outline_blur: tuple[float, float]
    colour_prob: float  # the text takes one of `colours` instead of near-white
    colours: tuple[tuple[int, int, int], ...]
    bold_prob: float
    bold_width: tuple[float, float]  # extra fill thickness on each side, as a fraction of the font size

    def __post_init__(self) -> None:
        _check_mix(self.style_mix, STYLES, "render.styles.style_mix")
        _check_range(self.shadow_offset, 0, 50, "render.styles.shadow_offset")
        _check_range(self.shadow_blur, 0, 20, "render.styles.shadow_blur")
        _check_range(self.shadow_opacity, 0, 1, "render.styles.shadow_opacity")
        _check_range(self.box_opacity, 0, 1, "render.styles.box_opacity")
        _check_range(self.box_padding, 0, 2, "render.styles.box_padding")
        _check_range(self.soft_outline_grey, 0, 255, "render.styles.soft_outline_grey")
        _check_range(self.soft_outline_blur, 0, 20, "render.styles.soft_outline_blur")
        _check_prob(self.colour_prob, "render.styles.colour_prob")
        require(bool(self.colours) and all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in self.colours),
                f"render.styles.colours must list [r, g, b] colours (0..255), got {self.colours!r}")
        _check_prob(self.bold_prob, "render.styles.bold_prob")
        _check_range(self.bold_width, 0, 0.1, "render.styles.bold_width")


@dataclass(frozen=True)
class FrameLayout:
    """The `render.layout` params: how many lines, where they sit and what frame holds them."""
    two_line_prob: float  # the line is broken in two; the truth joins them with "\n"
    line_gap: tuple[float, float]  # extra space between the lines' baselines, as a fraction of the font size
    empty_prob: float  # a frame without a subtitle, whose truth is ""
    size_prob: float  # the font size is a fraction of the frame height drawn from size_range, not the tier's range
    size_range: tuple[float, float]
    position_prob: float  # the text leaves its classic place for one drawn from position_bottom and position_shift
    position_bottom: tuple[float, float]  # the text's bottom edge, as a fraction of the frame height
    position_shift: float  # the text's centre moves by up to this fraction of the free width, left or right
    aspect_mix: dict[str, float]  # relative weights of ASPECTS
    letterbox_prob: float  # black bars above and below the picture, the subtitle on the lower bar
    letterbox_bar: tuple[float, float]  # each bar's height, as a fraction of the frame height
    top_limit: float  # no subtitle reaches above this fraction of the frame height (a taller block shrinks)

    def __post_init__(self) -> None:
        _check_prob(self.two_line_prob, "render.layout.two_line_prob")
        _check_range(self.line_gap, 0, 2, "render.layout.line_gap")
        _check_prob(self.empty_prob, "render.layout.empty_prob")
        _check_prob(self.size_prob, "render.layout.size_prob")
        _check_range(self.size_range, 0.01, 0.5, "render.layout.size_range")
        _check_prob(self.position_prob, "render.layout.position_prob")
        _check_range(self.position_bottom, 0.05, 1, "render.layout.position_bottom")
        require(0 <= self.position_shift <= 1, f"render.layout.position_shift must lie in [0, 1], got {self.position_shift}")
        _check_mix(self.aspect_mix, ASPECTS, "render.layout.aspect_mix")
        _check_prob(self.letterbox_prob, "render.layout.letterbox_prob")
        _check_range(self.letterbox_bar, 0.02, 0.3, "render.layout.letterbox_bar")
        require(0 <= self.top_limit < 0.9, f"render.layout.top_limit must lie in [0, 0.9), got {self.top_limit}")


@dataclass(frozen=True)
class Look:
    """One frame's draw of the styles and layout; neutral values (None, 0) mean the classic frame."""
    style: str
    lines: tuple[str, ...]  # () for a frame without a subtitle
    colour: tuple[int, int, int] | None  # None: the classic near-white colour
    bold_width: float
    shadow_offset: tuple[int, int]
    shadow_blur: float
    shadow_opacity: float
    box_opacity: float
    box_padding: float
    outline_grey: int
    outline_blur: float
    line_gap: float
    font_height: float | None  # font size as a fraction of the frame height; None: the tier's range
    position: tuple[float, float] | None  # (bottom edge, centre shift); None: the classic place
    aspect: str
    letterbox: float  # bar height as a fraction of the frame height; 0: no bars

    @property
    def truth(self) -> str:
        return "\n".join(self.lines)


def _pick(mix: dict[str, float], names: tuple[str, ...], rng: np.random.Generator) -> str:
    weights = np.array([mix.get(name, 0.0) for name in names], dtype=float)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def plan_look(text: str, styles: TextStyles, layout: FrameLayout, rng: np.random.Generator) -> Look:
    """Draw every choice, used or not, in a fixed order: changing one probability leaves the others' draws alone."""
    def uniform(bounds):
        return float(rng.uniform(*bounds))

    def integer(bounds):
        return int(rng.integers(bounds[0], bounds[1] + 1))

    style = _pick(styles.style_mix, STYLES, rng)
    shadow_offset = (integer(styles.shadow_offset), integer(styles.shadow_offset))
    shadow_blur, shadow_opacity = uniform(styles.shadow_blur), uniform(styles.shadow_opacity)
    box_opacity, box_padding = uniform(styles.box_opacity), uniform(styles.box_padding)
    outline_grey, outline_blur = integer(styles.soft_outline_grey), uniform(styles.soft_outline_blur)
    coloured, colour = rng.random() < styles.colour_prob, styles.colours[int(rng.integers(len(styles.colours)))]
    bold, bold_width = rng.random() < styles.bold_prob, uniform(styles.bold_width)
    two_lines, line_gap = rng.random() < layout.two_line_prob, uniform(layout.line_gap)
    empty = rng.random() < layout.empty_prob
    sized, font_height = rng.random() < layout.size_prob, math.exp(uniform(np.log(layout.size_range)))
    placed = rng.random() < layout.position_prob
    position = (uniform(layout.position_bottom), uniform((-layout.position_shift, layout.position_shift)))
    aspect = _pick(layout.aspect_mix, ASPECTS, rng)
    boxed, bar = rng.random() < layout.letterbox_prob, uniform(layout.letterbox_bar)
    lines = () if empty else split_in_two(text) if two_lines else (text,)
    return Look(
        style=style, lines=lines, colour=tuple(int(c) for c in colour) if coloured else None,
        bold_width=bold_width if bold else 0.0, shadow_offset=shadow_offset, shadow_blur=shadow_blur,
        shadow_opacity=shadow_opacity, box_opacity=box_opacity, box_padding=box_padding,
        outline_grey=outline_grey, outline_blur=outline_blur, line_gap=line_gap,
        font_height=font_height if sized else None, position=position if placed else None,
        aspect=aspect, letterbox=bar if boxed else 0.0,
    )


def split_in_two(text: str) -> tuple[str, ...]:
    """Two lines of about equal length: at the word break nearest the middle (the space dropped), else at the middle
    character. A text of one character stays one line."""
    words = text.split()
    if len(words) >= 2:
        cuts = range(1, len(words))
        cut = min(cuts, key=lambda i: abs(len("".join(words[:i])) - len("".join(words[i:]))))
        return " ".join(words[:cut]), " ".join(words[cut:])
    word = text.strip()
    if len(word) < 2:
        return (text,)
    return word[:len(word) // 2], word[len(word) // 2:]


def frame_size(tier_size: tuple[int, int], aspect: str) -> tuple[int, int]:
    """The frame for the tier's 16:9 (width, height): as is, as wide as 4:3 at the same height, or turned upright."""
    width, height = tier_size
    if aspect == "4:3":
        return int(round(height * 4 / 3)), height
    if aspect == "9:16":
        return height, width
    return width, height


def draw_picture(plan: BackgroundPlan, tier_size: tuple[int, int], size: tuple[int, int], bar: int) -> np.ndarray:
    """The frame of `size` (width, height): the background between two black bars `bar` pixels high (0: none).

    The background is drawn at the tier's 16:9 size scaled up until it covers the picture area, then centre-cropped:
    a 4:3, upright or letterboxed picture is cut out of the photograph rather than stretched. For the classic frame
    the scale is 1 and nothing is cropped.
    """
    width, height = size
    inner = height - 2 * bar
    tier_w, tier_h = tier_size
    scale = max(width / tier_w, inner / tier_h)
    cover_w, cover_h = max(width, int(round(tier_w * scale))), max(inner, int(round(tier_h * scale)))
    picture = draw_background(plan, (cover_w, cover_h))
    left, top = (cover_w - width) // 2, (cover_h - inner) // 2
    picture = picture[top:top + inner, left:left + width]
    if not bar:
        return np.ascontiguousarray(picture)
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[bar:bar + inner] = picture
    return frame
