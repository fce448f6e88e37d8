"""Stage infer: models/recognizer, reading the lines that models/line_finder finds, reads both test splits
-> data/predictions/finetuned/{test,unseen}.csv and metrics/speed/finetuned.json, and the frames of infer.frames_dir,
if set -> data/predictions/finetuned/submission.csv (a frame's lines on one line, infer.csv_line_separator between)."""
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import ConfigError, build, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, MODEL_DIR, PREDICTIONS, SPEED
from zhtw_subtitles.dataset.frames import folder_frames
from zhtw_subtitles.dataset.predictions_csv import one_line, write_csv_predictions
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.predictions import predict_test_splits, test_split_sizes
from zhtw_subtitles.reading.readers import InferConfig, instruction, line_finder_for, trained_reader

OUT_DIR = PREDICTIONS / "finetuned"
SPEED_FILE = SPEED / "finetuned.json"


def main() -> None:
    params = stage_params("infer")
    config = build(InferConfig, params["infer"], "infer")
    crop = parse_crop(params["crop"])
    sizes = test_split_sizes()
    frames_dir = Path(config.frames_dir) if config.frames_dir else None
    if frames_dir and not frames_dir.is_dir():
        raise ConfigError(f"infer.frames_dir '{frames_dir}' is not a folder")
    model = trained_reader(MODEL_DIR, build(ModelConfig, params["model"], "model"), instruction(params))
    finder = line_finder_for(model, LINE_FINDER_DIR)

    def read(frames, count=None):
        return read_frames(model, frames, crop, config.batch_size, line_finder=finder, total=count,
                           min_confidence=config.min_confidence)

    with atomic_dir(OUT_DIR) as staging:
        speed = predict_test_splits(staging, read, sizes)
        if frames_dir:
            ids, texts, unreadable = read(folder_frames(frames_dir))
            if not ids:
                raise ConfigError(f"infer.frames_dir '{frames_dir}' holds no .jpg/.png/.webp/.bmp frame")
            write_csv_predictions(staging / "submission.csv", ids, one_line(texts, config.csv_line_separator))
            print(f"{len(ids)} frames of {frames_dir} -> {OUT_DIR / 'submission.csv'} ({len(unreadable)} unreadable, predicted empty)")
    write_metrics(SPEED_FILE, speed)


if __name__ == "__main__":
    run_stage(main)
