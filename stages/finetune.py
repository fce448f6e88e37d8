"""Stage finetune: data/llava/{train,val}.json + data/synth/train -> models/recognizer (save_pretrained form).

`model.base` picks the route: the built-in CTC recogniser is fine-tuned on located subtitle lines; any VLM
(a hub id, a saved folder, or the built-in subtitle_vlm_cpu) learns to answer the chat prompt for the band.
"""
import tempfile
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import (
    ConfigError,
    build,
    parse_crop,
    run_stage,
    stage_params,
)
from zhtw_subtitles.core.paths import LLAVA, MODEL_DIR, SYNTH_TRAIN
from zhtw_subtitles.dataset.llava_json import read_conversations
from zhtw_subtitles.models.registry import (
    SUBTITLE_VLM,
    ModelConfig,
    is_ctc_recognizer,
    load_base,
)
from zhtw_subtitles.models.vlm_models import LoraConfig, load_base_vlm
from zhtw_subtitles.text.script import simplified_only
from zhtw_subtitles.training.finetune_ctc import train
from zhtw_subtitles.training.finetune_vlm import (
    BandDataset,
    read_examples,
    save_vlm,
    train_vlm,
)
from zhtw_subtitles.training.line_data import LineDataset, collate, lines_by_frame
from zhtw_subtitles.training.trainer import (
    FinetuneConfig,
    end_processes,
    fingerprint,
    half_precision,
    library_files,
)

CHECKPOINTS = Path("models/checkpoints")
LIVE_DIR = Path("metrics/finetune")


def subtitles(json_path: Path) -> dict[str, str]:
    return {key: answer for key, (_, answer) in read_conversations(json_path).items()}


def finetune_recognizer(params: dict, model_config: ModelConfig, config: FinetuneConfig, stamp: str) -> None:
    crop = parse_crop(params["crop"])
    train_texts = subtitles(LLAVA / "train.json")
    val_subtitles = subtitles(LLAVA / "val.json")
    val_keys = list(val_subtitles)[: config.eval_samples]
    keys = [*train_texts, *val_keys]
    lines = lines_by_frame(SYNTH_TRAIN, crop, keys)
    train_lines = [line for key in train_texts for line in lines.get(key, [])]
    model = load_base(model_config.base)
    model.add_characters([c for line in train_lines for c in line.text])
    if config.suppress_simplified:
        model.suppress_characters(simplified_only(model.charset.characters, [*train_texts.values(), *val_subtitles.values()]))
    seed = params["seed"]
    train_set = LineDataset(train_lines, model.charset, config.augment, seed)
    val_set = LineDataset([line for key in val_keys for line in lines.get(key, [])], model.charset, False, seed)
    trainer = train(model, train_set, val_set, collate, config, seed, CHECKPOINTS, LIVE_DIR, stamp)
    if trainer.is_world_process_zero():
        with atomic_dir(MODEL_DIR) as staging:
            trainer.model.save_pretrained(staging)
            trainer.model.export_onnx(staging)


def finetune_vlm(params: dict, model_config: ModelConfig, config: FinetuneConfig, stamp: str) -> None:
    lora = build(LoraConfig, params["lora"], "lora")
    crop = parse_crop(params["crop"])
    train_examples = read_examples(LLAVA / "train.json", SYNTH_TRAIN)
    val_examples = read_examples(LLAVA / "val.json", SYNTH_TRAIN, limit=config.eval_samples)
    if not train_examples or not val_examples:
        raise ConfigError(f"{LLAVA}/train.json or val.json matches no frame of {SYNTH_TRAIN}: run `dvc repro build_json`")
    with tempfile.TemporaryDirectory() as scratch:
        vocabulary = [text for example in train_examples for text in (example.prompt, example.answer)]
        model, processor, base_path = load_base_vlm(model_config, vocabulary,
                                                    params["seed"], Path(scratch), half_precision(config.precision))
        trainer = train_vlm(model, processor, BandDataset(train_examples, crop, model_config.max_pixels),
                            BandDataset(val_examples, crop, model_config.max_pixels), config, lora, params["seed"],
                            CHECKPOINTS, LIVE_DIR, stamp)
        if trainer.is_world_process_zero():
            # A base built on the spot lives in a temporary folder: only merged weights outlive it.
            merge = config.merge or model_config.base == SUBTITLE_VLM
            with atomic_dir(MODEL_DIR) as staging:
                save_vlm(trainer.model, processor, staging, [e.answer for e in train_examples],
                         merge_onto=(base_path, model_config) if merge else None)


def main() -> None:
    params = stage_params("finetune")
    model_config = build(ModelConfig, params["model"], "model")
    config = build(FinetuneConfig, params["finetune"], "finetune")
    settings = {key: params[key] for key in ("model", "finetune", "lora", "crop", "seed")}
    # Resume only a run of the same settings, data and training code.
    stamp = fingerprint(settings, [LLAVA / "train.json", LLAVA / "val.json", *sorted(SYNTH_TRAIN.iterdir()), *library_files()])
    route = finetune_recognizer if is_ctc_recognizer(model_config.base) else finetune_vlm
    route(params, model_config, config, stamp)
    end_processes()


if __name__ == "__main__":
    run_stage(main)
