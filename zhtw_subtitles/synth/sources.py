"""What each split draws from: its render params, background pictures and video frames, and the check that the
unseen-style split shares no font or background source with train/test."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.synth.backgrounds import Background, find_backgrounds, picture_files
from zhtw_subtitles.synth.fonts import FontFace
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.videos import video_backgrounds, video_paths


def unseen_config(config: RenderConfig) -> RenderConfig:
    """The render params of the unseen-style split: `config` with `render.unseen`'s values in place."""
    unseen = config.unseen
    return dataclasses.replace(
        config, fonts=unseen.fonts, font_dir=unseen.font_dir, use_embedded_backgrounds=unseen.use_embedded_backgrounds,
        background_dir=unseen.background_dir, embedded_videos=unseen.embedded_videos,
        background_videos=unseen.background_videos, styles=unseen.styles, layout=unseen.layout,
    )


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


def _source_files(config: RenderConfig) -> set[Path]:
    files = picture_files(config.use_embedded_backgrounds, config.background_dir)
    return {path.resolve() for path in files + video_paths(config.embedded_videos, config.background_videos)}


def check_held_out(seen: RenderConfig, seen_faces: list[FontFace], unseen: RenderConfig,
                   unseen_faces: list[FontFace]) -> None:
    """Refuse an unseen-style split that shares a font face or a background file with train/test."""
    seen_files = {(face.path, face.index) for face in seen_faces}
    shared_faces = sorted({face.name for face in unseen_faces if (face.path, face.index) in seen_files})
    if shared_faces:
        raise ConfigError(f"render.unseen draws with {shared_faces}, which train/test also use: the unseen-style split "
                          "must hold out its fonts; change render.unseen.fonts/font_dir or render.fonts/font_dir")
    shared_files = sorted(str(p) for p in _source_files(unseen) & _source_files(seen))
    if shared_files:
        raise ConfigError(f"render.unseen shares {len(shared_files)} background file(s) with train/test (e.g. "
                          f"{shared_files[0]}): the unseen-style split must hold out its backgrounds; change the "
                          "background sources of render.unseen or of render")
