"""Stage baselines: model.base before fine-tuning reads the same test frames as `infer`
-> data/predictions/base/test.csv and metrics/speed/base.json. A VLM base answers zero-shot, as the study tried MiniCPM-V."""
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, parse_crop, read_params, run_stage
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.reading.inference import read_frames
from zhtw_subtitles.reading.predictions import save_timed_predictions
from zhtw_subtitles.reading.readers import InferConfig, base_reader

TEST = Path("data/synth/test")
TRAIN_JSON = Path("data/llava/train.json")
OUT_DIR = Path("data/predictions/base")
SPEED = Path("metrics/speed/base.json")


def main() -> None:
    params = read_params()
    crop = parse_crop(params.get("crop"))
    count = len(read_manifest(TEST))
    infer = build(InferConfig, params.get("infer"), "infer")
    base = base_reader(build(ModelConfig, params.get("model"), "model"), infer.prompt_or(params), TRAIN_JSON, params["seed"])
    with atomic_dir(OUT_DIR) as staging:
        save_timed_predictions(staging, SPEED, lambda: read_frames(base, shard_frames(TEST), crop, infer.batch_size, count))


if __name__ == "__main__":
    run_stage(main)
