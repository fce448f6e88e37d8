"""LLaVA conversation JSON for the rendered frames, and a folder export that LLaVA-style trainers read unchanged.

Each record is exactly the study's form:
{"id", "image", "conversations": [{"from": "human", "value": "<image>\\n" + prompt}, {"from": "gpt", "value": text}]}
with `image` relative to the exported folder (`images/<id>.jpg`). The answer of a frame without a subtitle is "",
and a two-line subtitle's lines are joined by "\\n", as the readers answer.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir, atomic_file
from zhtw_subtitles.core.config import require
from zhtw_subtitles.core.hashing import unit_hash
from zhtw_subtitles.dataset.shards import read_split

IMAGE_TOKEN = "<image>"


@dataclass(frozen=True)
class JsonConfig:
    """The `json` params."""
    prompts: tuple[str, ...]  # one is drawn per frame by a seeded hash
    val_fraction: float  # of the train frames, chosen by subtitle text so no line is in both

    def __post_init__(self) -> None:
        require(bool(self.prompts) and all(p.strip() for p in self.prompts), "json.prompts must list non-empty prompts")
        require(0.0 <= self.val_fraction < 1.0, f"json.val_fraction must lie in [0, 1), got {self.val_fraction}")


def image_path(key: str) -> str:
    return f"images/{key}.jpg"


def conversation(key: str, prompt: str, text: str) -> dict:
    return {
        "id": key,
        "image": image_path(key),
        "conversations": [
            {"from": "human", "value": f"{IMAGE_TOKEN}\n{prompt}"},
            {"from": "gpt", "value": text},
        ],
    }


def read_conversations(path: Path) -> dict[str, tuple[str, str]]:
    """{frame id: (prompt, subtitle)} of a JSON written by `write_json`, in file order."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    return {r["id"]: (r["conversations"][0]["value"], r["conversations"][1]["value"]) for r in records}


def vocabulary_texts(conversations: dict[str, tuple[str, str]]) -> list[str]:
    """Every prompt and subtitle: what a character vocabulary built from the training data must cover."""
    return [text for pair in conversations.values() for text in pair]


def build_records(manifest: list[dict[str, str]], prompts: tuple[str, ...], seed: int) -> list[dict]:
    return [
        conversation(row["key"], prompts[int(unit_hash(str(seed), "prompt", row["key"]) * len(prompts))], row["text"])
        for row in manifest
    ]


def split_by_text(records: list[dict], val_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, val): no subtitle in both. Frames without a subtitle (answer "") are drawn one by one, so that both
    sides hold some."""
    def is_val(record: dict) -> bool:
        return unit_hash(str(seed), "val", record["conversations"][1]["value"] or record["id"]) < val_fraction

    return [r for r in records if not is_val(r)], [r for r in records if is_val(r)]


def write_json(records: list[dict], path: Path) -> None:
    with atomic_file(path) as handle:
        json.dump(records, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def export_folder(split_dir: Path, json_path: Path, out_dir: Path) -> int:
    """Write `out_dir/images/<id>.jpg` for every record of `json_path`, plus the JSON beside them."""
    records = json.loads(Path(json_path).read_text(encoding="utf-8"))
    wanted = {r["id"] for r in records}
    with atomic_dir(Path(out_dir)) as staging:
        (staging / "images").mkdir()
        written = 0
        for sample in read_split(split_dir):
            if sample.key in wanted:
                (staging / image_path(sample.key)).write_bytes(sample.jpeg)
                written += 1
        missing = len(wanted) - written
        if missing:
            raise FileNotFoundError(f"{missing} image(s) of {json_path} are not in {split_dir}: run `dvc repro` first")
        write_json(records, staging / Path(json_path).name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Export rendered frames as an image folder plus LLaVA JSON.")
    parser.add_argument("--split", default="data/synth/train", help="rendered split folder (shards + manifest)")
    parser.add_argument("--json", default="data/llava/train.json", help="conversation JSON made by build_json")
    parser.add_argument("--out", required=True, help="folder to create; holds images/ and the JSON")
    args = parser.parse_args()
    count = export_folder(Path(args.split), Path(args.json), Path(args.out))
    print(f"exported {count} images and {Path(args.json).name} to {args.out}")


if __name__ == "__main__":
    main()
