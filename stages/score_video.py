"""Stage score_video: data/subtitles/<video>.srt against the reference <video>.srt beside each video of
transcribe.videos_dir, where there is one -> metrics/video_scores.json (time-matched, see scoring/timed.py).

A stage of its own rather than a part of score: re-scoring never re-reads the videos, and score's inputs (the
synthetic test frames) are not needed here."""
from __future__ import annotations

from pathlib import Path

from zhtw_subtitles.core.config import ConfigError, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import SUBTITLES
from zhtw_subtitles.scoring.timed import TimedCounts, timed_counts
from zhtw_subtitles.video.decode import video_files
from zhtw_subtitles.video.subtitle_file import read_cues

SCORES = Path("metrics/video_scores.json")


def main() -> None:
    videos = video_files(Path(stage_params("score_video")["transcribe"]["videos_dir"]))
    per_video, pooled = {}, TimedCounts()
    for video in videos:
        reference = video.with_suffix(".srt")
        if not reference.is_file():
            continue
        predicted = SUBTITLES / reference.name
        if not predicted.is_file():
            raise ConfigError(f"{predicted} is missing: run `dvc repro transcribe`")
        counts = timed_counts(read_cues(reference), read_cues(predicted))
        per_video[video.name] = counts.scores()
        pooled += counts
    write_metrics(SCORES, {"all": pooled.scores(), "videos": per_video})
    for name, scores in per_video.items():
        print(f"{name}: CER {scores['cer']}  cue recall {scores['cue_recall']}  precision {scores['cue_precision']}  "
              f"start/end error {scores['start_error_ms']}/{scores['end_error_ms']} ms")


if __name__ == "__main__":
    run_stage(main)
