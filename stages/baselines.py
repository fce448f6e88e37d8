"""Stage baselines: model.base before fine-tuning reads the same test frames as `infer`
-> data/predictions/base/{test.csv,speed.json}. A VLM base answers zero-shot, as the study tried MiniCPM-V."""
from pathlib import Path

from zhtw_subtitles.atomic import atomic_dir
from zhtw_subtitles.config import build, parse_crop, read_params, run_stage
from zhtw_subtitles.inference import read_frames, shard_frames
from zhtw_subtitles.model_registry import ModelConfig
from zhtw_subtitles.predictions import save_timed_predictions
from zhtw_subtitles.readers import InferConfig, base_reader
from zhtw_subtitles.shards import read_manifest

TEST = Path("data/synth/test")
TRAIN_JSON = Path("data/llava/train.json")
OUT_DIR = Path("data/predictions/base")


def main() -> None:
    params = read_params()
    crop = parse_crop(params.get("crop"))
    count = len(read_manifest(TEST))
    infer = build(InferConfig, params.get("infer"), "infer")
    base = base_reader(build(ModelConfig, params.get("model"), "model"), infer.prompt_or(params), TRAIN_JSON, params["seed"])
    with atomic_dir(OUT_DIR) as staging:
        save_timed_predictions(staging, lambda: read_frames(base, shard_frames(TEST), crop, infer.batch_size, count))


if __name__ == "__main__":
    run_stage(main)
