"""Stage baselines: model.base before fine-tuning reads the same test splits as `infer`, with the same line finder
-> data/predictions/base/{test,unseen}.csv and metrics/speed/base.json. A VLM base answers zero-shot, as the study
tried MiniCPM-V."""

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import LINE_FINDER_DIR, LLAVA, PREDICTIONS, SPEED
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.predictions import predict_test_splits, test_split_sizes
from zhtw_subtitles.reading.readers import base_reader, instruction, line_finder_for

OUT_DIR = PREDICTIONS / "base"
SPEED_FILE = SPEED / "base.json"


def main() -> None:
    params = stage_params("baselines")
    crop = parse_crop(params["crop"])
    batch_size, min_confidence = params["infer"]["batch_size"], params["infer"]["min_confidence"]
    sizes = test_split_sizes()
    base = base_reader(build(ModelConfig, params["model"], "model"), instruction(params), LLAVA / "train.json", params["seed"])
    finder = line_finder_for(base, LINE_FINDER_DIR)
    with atomic_dir(OUT_DIR) as staging:
        speed = predict_test_splits(
            staging, lambda frames, count: read_frames(base, frames, crop, batch_size, line_finder=finder, total=count,
                                                       min_confidence=min_confidence),
            sizes)
    write_metrics(SPEED_FILE, speed)


if __name__ == "__main__":
    run_stage(main)
