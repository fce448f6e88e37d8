"""Stage build_json: rendered manifests -> LLaVA conversation JSON data/llava/{train,val,test}.json."""

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import build, run_stage, stage_params
from zhtw_subtitles.core.paths import LLAVA, SYNTH
from zhtw_subtitles.dataset.llava_json import (
    JsonConfig,
    build_records,
    split_by_text,
    write_json,
)
from zhtw_subtitles.dataset.shards import read_manifest


def main() -> None:
    params = stage_params("build_json")
    config = build(JsonConfig, params["json"], "json")
    seed = params["seed"]
    train, val = split_by_text(build_records(read_manifest(SYNTH / "train"), config.prompts, seed), config.val_fraction, seed)
    test = build_records(read_manifest(SYNTH / "test"), config.prompts, seed)
    with atomic_dir(LLAVA) as staging:
        for name, records in {"train": train, "val": val, "test": test}.items():
            write_json(records, staging / f"{name}.json")
    print(f"conversations: {len(train)} train, {len(val)} val, {len(test)} test")


if __name__ == "__main__":
    run_stage(main)
