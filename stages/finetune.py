"""Stage finetune: data/llava/{train,val}.json + data/synth/train -> models/recognizer (save_pretrained form)."""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from zhtw_subtitles.atomic import atomic_dir
from zhtw_subtitles.config import build, parse_crop, read_params, run_stage
from zhtw_subtitles.finetune_ctc import FinetuneConfig, fingerprint, library_files, train
from zhtw_subtitles.line_data import LineDataset, collate, line_crops
from zhtw_subtitles.model_registry import load_base

SYNTH = Path("data/synth/train")
LLAVA = Path("data/llava")
MODEL_DIR = Path("models/recognizer")
CHECKPOINTS = Path("models/checkpoints")
LIVE_DIR = Path("metrics/finetune")


@dataclass(frozen=True)
class ModelConfig:
    base: str = "ppocr_v6_small"


def subtitles(json_path: Path) -> dict[str, str]:
    return {r["id"]: r["conversations"][1]["value"] for r in json.loads(json_path.read_text(encoding="utf-8"))}


def main() -> None:
    params = read_params()
    model_config = build(ModelConfig, params.get("model"), "model")
    config = build(FinetuneConfig, params.get("finetune"), "finetune")
    crop = parse_crop(params.get("crop"))
    train_texts = subtitles(LLAVA / "train.json")
    val_keys = list(subtitles(LLAVA / "val.json"))[: config.eval_samples]
    keys = [*train_texts, *val_keys]
    located = tqdm(line_crops(SYNTH, crop, keys), total=len(keys), desc="locate subtitle lines", unit="frame")
    lines = {line.key: line for line in located}
    model = load_base(model_config.base)
    model.add_characters([c for text in train_texts.values() for c in text])
    seed = params["seed"]
    train_set = LineDataset([lines[k] for k in train_texts if k in lines], model.charset, config.augment, seed)
    val_set = LineDataset([lines[k] for k in val_keys if k in lines], model.charset, False, seed)
    settings = {"model": asdict(model_config), "finetune": asdict(config), "crop": crop, "seed": seed}
    # Resume only a run of the same settings, data and training code.
    stamp = fingerprint(settings, [LLAVA / "train.json", LLAVA / "val.json", *sorted(SYNTH.iterdir()), *library_files()])
    model = train(model, train_set, val_set, collate, config, seed, CHECKPOINTS, LIVE_DIR, stamp)
    with atomic_dir(MODEL_DIR) as staging:
        model.save_pretrained(staging)
        model.export_onnx(staging)


if __name__ == "__main__":
    run_stage(main)
