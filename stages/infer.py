"""Stage infer: models/recognizer reads data/synth/test -> data/predictions/finetuned/test.csv and metrics/speed/finetuned.json,
and the frames of infer.frames_dir, if set -> data/predictions/finetuned/submission.csv."""
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
from zhtw_subtitles.core.paths import MODEL_DIR, PREDICTIONS, SPEED, SYNTH_TEST
from zhtw_subtitles.dataset.frames import folder_frames, shard_frames
from zhtw_subtitles.dataset.predictions_csv import write_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.predictions import save_timed_predictions
from zhtw_subtitles.reading.readers import InferConfig, instruction, trained_reader

OUT_DIR = PREDICTIONS / "finetuned"
SPEED_FILE = SPEED / "finetuned.json"


def main() -> None:
    params = stage_params("infer")
    config = build(InferConfig, params["infer"], "infer")
    crop = parse_crop(params["crop"])
    count = len(read_manifest(SYNTH_TEST))
    if count == 0:
        raise ConfigError(f"{SYNTH_TEST} holds no frames: set render.num_test_images > 0 and run `dvc repro render_synth`")
    model = trained_reader(MODEL_DIR, build(ModelConfig, params["model"], "model"), instruction(params))
    frames_dir = Path(config.frames_dir) if config.frames_dir else None
    if frames_dir and not frames_dir.is_dir():
        raise ConfigError(f"infer.frames_dir '{frames_dir}' is not a folder")
    with atomic_dir(OUT_DIR) as staging:
        speed = save_timed_predictions(staging, lambda: read_frames(model, shard_frames(SYNTH_TEST), crop, config.batch_size, count))
        if frames_dir:
            ids, texts, unreadable = read_frames(model, folder_frames(frames_dir), crop, config.batch_size)
            if not ids:
                raise ConfigError(f"infer.frames_dir '{frames_dir}' holds no .jpg/.png/.webp/.bmp frame")
            write_csv_predictions(staging / "submission.csv", ids, texts)
            print(f"{len(ids)} frames of {frames_dir} -> {OUT_DIR / 'submission.csv'} ({len(unreadable)} unreadable, predicted empty)")
    write_metrics(SPEED_FILE, speed)


if __name__ == "__main__":
    run_stage(main)
