"""Stage baselines: model.base before fine-tuning reads the same test frames as `infer`
-> data/predictions/base/test.csv and metrics/speed/base.json. A VLM base answers zero-shot, as the study tried MiniCPM-V."""

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import LLAVA, PREDICTIONS, SPEED, SYNTH_TEST
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.predictions import save_timed_predictions
from zhtw_subtitles.reading.readers import base_reader, instruction

OUT_DIR = PREDICTIONS / "base"
SPEED_FILE = SPEED / "base.json"


def main() -> None:
    params = stage_params("baselines")
    crop = parse_crop(params["crop"])
    batch_size = params["infer"]["batch_size"]
    count = len(read_manifest(SYNTH_TEST))
    base = base_reader(build(ModelConfig, params["model"], "model"), instruction(params), LLAVA / "train.json", params["seed"])
    with atomic_dir(OUT_DIR) as staging:
        speed = save_timed_predictions(staging, lambda: read_frames(base, shard_frames(SYNTH_TEST), crop, batch_size, count))
    write_metrics(SPEED_FILE, speed)


if __name__ == "__main__":
    run_stage(main)
