"""What a split draws from: its background pictures and video frames."""
from __future__ import annotations

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.synth.backgrounds import Background, find_backgrounds
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.videos import video_backgrounds


def load_backgrounds(config: RenderConfig, seed: int) -> tuple[list[Background], list[str]]:
    """The backgrounds of `config`'s sources (pictures first, then video frames) and the unreadable pictures skipped."""
    frames = video_backgrounds(config.embedded_videos, config.background_videos, config.frames_per_video, seed)
    if not (config.use_embedded_backgrounds or config.background_dir):
        if not frames:
            raise ConfigError("no background source: set render.use_embedded_backgrounds: true, or name "
                              "render.background_dir, render.embedded_videos or render.background_videos")
        return frames, []
    pictures, corrupt = find_backgrounds(config.use_embedded_backgrounds, config.background_dir)
    return pictures + frames, corrupt
