"""Stage baselines: on the same test frames as `infer`, (a) the base recogniser before fine-tuning and
(b) the off-the-shelf peer, rapidocr's full detection + recognition pipeline
-> data/predictions/{base,peer}/{test.csv,speed.json}."""
from pathlib import Path

from zhtw_subtitles.atomic import atomic_dir
from zhtw_subtitles.config import build, parse_crop, read_params, run_stage
from zhtw_subtitles.inference import read_frames, read_frames_one_by_one, shard_frames
from zhtw_subtitles.model_registry import ModelConfig
from zhtw_subtitles.peer import RapidOcrPeer
from zhtw_subtitles.predictions import save_timed_predictions
from zhtw_subtitles.readers import InferConfig, base_reader
from zhtw_subtitles.shards import read_manifest

TEST = Path("data/synth/test")
TRAIN_JSON = Path("data/llava/train.json")
OUT = Path("data/predictions")


def main() -> None:
    params = read_params()
    crop = parse_crop(params.get("crop"))
    count = len(read_manifest(TEST))
    infer = build(InferConfig, params.get("infer"), "infer")
    base = base_reader(build(ModelConfig, params.get("model"), "model"), infer.prompt_or(params), TRAIN_JSON, params["seed"])
    batch_size = infer.batch_size
    with atomic_dir(OUT / "base") as staging:
        save_timed_predictions(staging, lambda: read_frames(base, shard_frames(TEST), crop, batch_size, count))
    peer = RapidOcrPeer(crop)
    with atomic_dir(OUT / "peer") as staging:
        save_timed_predictions(staging, lambda: read_frames_one_by_one(peer.read, shard_frames(TEST), count))


if __name__ == "__main__":
    run_stage(main)
