"""The `render.unseen` params: the unseen-style split, the test lines drawn with fonts, backgrounds and a style mix
that training never sees, so that its scores measure generalisation rather than fit."""
from __future__ import annotations

from dataclasses import dataclass

from zhtw_subtitles.core.config import ConfigError, build, require
from zhtw_subtitles.synth.styles import FrameLayout, TextStyles


@dataclass(frozen=True)
class UnseenSplit:
    """Replaces the train/test values of the same names in `render` (the rest, such as the frame tiers and the
    degradations, is shared)."""
    num_images: int
    fonts: tuple[str, ...]
    font_dir: str | None
    use_embedded_backgrounds: bool
    background_dir: str | None
    embedded_videos: tuple[str, ...]
    background_videos: str | None
    styles: TextStyles
    layout: FrameLayout

    def __post_init__(self) -> None:
        try:  # the sections' own checks name render.styles and render.layout
            if isinstance(self.styles, dict):
                object.__setattr__(self, "styles", build(TextStyles, self.styles, "render.unseen.styles"))
            if isinstance(self.layout, dict):
                object.__setattr__(self, "layout", build(FrameLayout, self.layout, "render.unseen.layout"))
        except ConfigError as error:
            raise ConfigError(f"in render.unseen: {error}") from error
        require(self.num_images > 0, f"render.unseen.num_images must be > 0, got {self.num_images}")
