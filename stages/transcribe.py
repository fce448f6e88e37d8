"""Stage transcribe: models/recognizer reads the subtitles burned into every video of transcribe.videos_dir, the
lines boxed by models/line_finder -> data/subtitles/<video>.srt, and how fast it went -> metrics/speed/transcribe.json."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import (
    ConfigError,
    build,
    parse_crop,
    run_stage,
    stage_params,
)
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, MODEL_DIR, SPEED, SUBTITLES
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.readers import instruction, line_finder_for, trained_reader
from zhtw_subtitles.video.decode import VideoError, video_files
from zhtw_subtitles.video.subtitle_file import write_subtitles
from zhtw_subtitles.video.transcriber import FINDER_THREADS, VideoReading, transcribe_video

SPEED_FILE = SPEED / "transcribe.json"


@dataclass(frozen=True)
class TranscribeConfig:
    videos_dir: str  # every video in it is transcribed; a <video>.srt beside one is its reference (score_video)
    reading: VideoReading

    def __post_init__(self) -> None:
        if isinstance(self.reading, dict):
            object.__setattr__(self, "reading", build(VideoReading, self.reading, "transcribe.reading"))


def main() -> None:
    params = stage_params("transcribe")
    config = build(TranscribeConfig, params["transcribe"], "transcribe")
    videos = video_files(Path(config.videos_dir))
    crop = parse_crop(params["crop"])
    model = trained_reader(MODEL_DIR, build(ModelConfig, params["model"], "model"), instruction(params)) if videos else None
    finder = line_finder_for(model, LINE_FINDER_DIR, FINDER_THREADS) if videos else None
    video_seconds, started = 0.0, time.perf_counter()
    with atomic_dir(SUBTITLES) as staging:
        for video in videos:
            try:
                transcript = transcribe_video(video, model, crop, config.reading, line_finder=finder)
            except VideoError as error:
                raise ConfigError(f"{error} (transcribe.videos_dir holds it)") from None
            write_subtitles(transcript.cues, staging / f"{video.stem}.srt", "srt")
            video_seconds += transcript.seconds
            print(f"{video} -> {SUBTITLES / (video.stem + '.srt')}: {len(transcript.cues)} subtitles")
    seconds = time.perf_counter() - started
    write_metrics(SPEED_FILE, {"videos": len(videos), "video_seconds": round(video_seconds, 3), "seconds": round(seconds, 3),
                          "video_seconds_per_s": round(video_seconds / seconds, 3) if videos else None})


if __name__ == "__main__":
    run_stage(main)
