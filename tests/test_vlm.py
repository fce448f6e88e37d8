"""The VLM route on tiny random-initialised models of real architectures, built locally: label masking, LoRA
training, adapter reload, merge, resume, and the real finetune/infer/score stages with model.base=<folder>."""
from __future__ import annotations

import json
import runpy
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from test_ppocr_rec import WHITE, render_line

from zhtw_subtitles.core.config import ConfigError, default_config
from zhtw_subtitles.models.recognizer import LABEL_PAD
from zhtw_subtitles.models.registry import ModelConfig, resolve_vlm
from zhtw_subtitles.models.vlm_chat import (
    AnswerOnlyCollator,
    VlmReader,
    chat_text,
    clean_answer,
    end_of_turn_ids,
    shrink,
)
from zhtw_subtitles.models.vlm_models import (
    LoraConfig,
    load_vlm,
    part_prefixes,
    prepare_for_training,
)
from zhtw_subtitles.reading.readers import trained_reader
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm
from zhtw_subtitles.training.finetune_vlm import (
    BandDataset,
    Example,
    save_vlm,
    train_vlm,
)
from zhtw_subtitles.training.trainer import FinetuneConfig

ARCHITECTURES = ("qwen2_vl", "llava", "idefics3")
PROMPT = "<image>\n請辨認圖片中央底部的白色字幕"
ANSWERS = ["明天見", "謝謝你 再見", "我知道了", "今天天氣很好"]
CHARACTERS = "".join(ANSWERS) + PROMPT


def band_jpeg(text: str) -> bytes:
    """A 1280x720 frame, grey with a white outlined subtitle near the bottom, as JPEG bytes."""
    frame = np.full((720, 1280, 3), 90, np.uint8)
    line = np.asarray(render_line(text, WHITE, (90, 90, 90), stroke_width=2, font_size=50))[:, :, ::-1]
    top, left = 560, (1280 - line.shape[1]) // 2
    frame[top: top + line.shape[0], left: left + line.shape[1]] = line
    return cv2.imencode(".jpg", frame)[1].tobytes()


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return [Example(f"k{i}", band_jpeg(text), PROMPT, text) for i, text in enumerate(ANSWERS)]


@pytest.fixture(scope="module", params=ARCHITECTURES)
def tiny(request, tmp_path_factory) -> Path:
    return build_tiny_vlm(request.param, tmp_path_factory.mktemp(request.param) / "model", CHARACTERS, seed=0)


def loaded(folder: Path):
    return load_vlm(str(folder), default_config(ModelConfig, "model", base=str(folder)), None, for_training=True)


def test_only_the_answer_and_its_end_of_turn_are_supervised(tiny, examples):
    _, processor = loaded(tiny)
    dataset = BandDataset(examples[:2], (0.0, 0.65, 1.0, 1.0), None)
    batch = AnswerOnlyCollator(processor)([dataset[0], dataset[1]])
    end_of_turn = end_of_turn_ids(processor)[0]
    for row, labels, answer in zip(batch["input_ids"], batch["labels"], ANSWERS):
        supervised = labels[labels != LABEL_PAD]
        assert processor.tokenizer.decode(supervised[:-1]) == answer
        assert supervised[-1] == end_of_turn or supervised[-2] == end_of_turn  # some templates add "\n" after it
        image_token = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
        assert (row == image_token).any() and not (labels == image_token).any()
    assert (batch["labels"][batch["attention_mask"] == 0] == LABEL_PAD).all()


def test_the_answer_found_alone_starts_where_the_prompt_encoded_with_its_image_ends(tiny, examples):
    _, processor = loaded(tiny)
    dataset = BandDataset(examples, (0.0, 0.65, 1.0, 1.0), None)
    items = [dataset[i] for i in range(len(examples))]
    collator = AnswerOnlyCollator(processor)
    batch = collator(items)
    prompts = [item["prompt"] for item in items]
    encoded_prompts = collator._encode([chat_text(processor, prompt) for prompt in prompts], [[i["image"]] for i in items])
    prompt_lengths = collator._prompt_lengths(batch["input_ids"], encoded_prompts)
    texts = [chat_text(processor, item["prompt"], item["answer"]) for item in items]
    lengths = batch["attention_mask"].sum(1).tolist()
    assert collator._answer_starts(batch["input_ids"], lengths, [chat_text(processor, p) for p in prompts], texts) == prompt_lengths
    for labels, length in zip(batch["labels"], prompt_lengths):
        assert (labels[:length] == LABEL_PAD).all() and labels[length] != LABEL_PAD


def test_default_lora_adapts_the_language_model_and_trains_the_projector(tiny):
    model, _ = loaded(tiny)
    prefixes = part_prefixes(model)
    adapted = prepare_for_training(model, default_config(LoraConfig, "lora"))
    trainable = [n for n, p in adapted.named_parameters() if p.requires_grad]
    lora = [n for n in trainable if "lora_" in n]
    assert lora and all(prefixes["language_model"].split(".")[-1] in n for n in lora)
    assert not any(prefixes["vision_tower"] + "." in n and "lora_" in n for n in trainable)
    assert any("modules_to_save" in n for n in trainable)  # the projector, trained fully


def test_unknown_hub_id_fails_fast_with_what_to_do():
    start = time.monotonic()
    with pytest.raises(ConfigError, match="hf download nobody/no-such-vlm"):
        resolve_vlm("nobody/no-such-vlm")
    assert time.monotonic() - start < 30


def test_qlora_without_cuda_says_what_it_needs(tiny):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA GPU and `pip install bitsandbytes`"):
        load_vlm(str(tiny), default_config(ModelConfig, "model", base=str(tiny), quantization="4bit"), None, for_training=True)


def test_answers_are_cleaned_of_markup_echo_and_extra_lines():
    assert clean_answer("<|im_end|>明天見<|im_end|>", PROMPT) == "明天見"
    assert clean_answer("assistant: 明天見\n明天見明天見", PROMPT) == "明天見"
    assert clean_answer("請辨認圖片中央底部的白色字幕明天見", PROMPT) == "明天見"
    assert clean_answer("  \n", PROMPT) == ""


@pytest.mark.slow
def test_lora_overfits_a_tiny_batch_and_reloads_with_the_same_answers(tmp_path, examples):
    folder = build_tiny_vlm("llava", tmp_path / "base", CHARACTERS, seed=0)
    model, processor = loaded(folder)
    dataset = BandDataset(examples, (0.0, 0.65, 1.0, 1.0), None)
    batch = AnswerOnlyCollator(processor)([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        loss_before = model(**batch).loss.item()
    config = default_config(FinetuneConfig, "finetune", max_steps=60, batch_size=4, learning_rate=5e-3, warmup_ratio=0.0,
                            eval_every=60, eval_samples=4, checkpoint_every=30, logging_every=5, merge=True)
    lora = default_config(LoraConfig, "lora", r=8, alpha=16, dropout=0.0)
    trainer = train_vlm(model, processor, dataset, dataset, config, lora, 0, tmp_path / "checkpoints", tmp_path / "live", "s")
    with torch.no_grad():
        loss_after = trainer.model.eval()(**batch).loss.item()
    assert loss_after < 0.8 * loss_before
    assert set(json.loads((tmp_path / "live/metrics.json").read_text())["val"]) == {"cer", "exact_match"}

    bands = [cv2.imdecode(np.frombuffer(e.jpeg, np.uint8), cv2.IMREAD_COLOR)[468:] for e in examples]
    trained_answers = VlmReader(trainer.model, processor, PROMPT, 12, None).read(bands)
    save_vlm(trainer.model, processor, tmp_path / "out", merge=True, answers=ANSWERS)
    assert (tmp_path / "out/adapter_config.json").is_file() and (tmp_path / "out/merged/config.json").is_file()
    model_config = default_config(ModelConfig, "model", base=str(folder))
    assert trained_reader(tmp_path / "out", model_config, PROMPT).read(bands) == trained_answers
    shutil.rmtree(tmp_path / "out/merged")  # now the base + adapter route
    assert trained_reader(tmp_path / "out", model_config, PROMPT).read(bands) == trained_answers


@pytest.mark.slow
def test_a_rerun_resumes_from_the_last_checkpoint(tmp_path, examples):
    folder = build_tiny_vlm("llava", tmp_path / "base", CHARACTERS, seed=0)
    crop = (0.0, 0.65, 1.0, 1.0)
    config = default_config(FinetuneConfig, "finetune", max_steps=4, batch_size=2, eval_every=4, eval_samples=2,
                            checkpoint_every=2, logging_every=1)

    def run():
        model, processor = loaded(folder)
        return train_vlm(model, processor, BandDataset(examples, crop, None), BandDataset(examples[:2], crop, None),
                         config, default_config(LoraConfig, "lora"), 0, tmp_path / "checkpoints", tmp_path / "live", "same")

    run()
    shutil.rmtree(tmp_path / "checkpoints/checkpoint-4")  # as if killed between step 2 and step 4
    trainer = run()
    assert yaml.safe_load((tmp_path / "live/params.yaml").read_text())["resumed_from"] == "checkpoint-2"
    assert trainer.state.global_step == 4
    steps = [int(line.split("\t")[0]) for line in (tmp_path / "live/plots/metrics/train/loss.tsv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def data_repo(tmp_path_factory) -> DvcRepo:
    """Rendered frames and LLaVA JSON of the tiny parameter set, made by the real pipeline."""
    repo = DvcRepo.create(tmp_path_factory.mktemp("vlm-pipeline") / "repo")
    repo.run("dvc", "repro", "build_json")
    return repo


def run_stage(repo: DvcRepo, name: str, monkeypatch) -> None:
    monkeypatch.chdir(repo.root)
    runpy.run_path(str(repo.root / "stages" / f"{name}.py"), run_name="__main__")


@pytest.mark.slow
def test_finetune_and_infer_stages_read_with_any_architecture(data_repo, tiny, monkeypatch):
    data_repo.set_params({"model": {"base": str(tiny), "max_pixels": 40000},
                          "finetune": {"max_steps": 2, "merge": True, "gradient_checkpointing": True},
                          "lora": {"r": 4, "alpha": 8}})
    run_stage(data_repo, "finetune", monkeypatch)
    out = data_repo.root / "models/recognizer"
    assert {"adapter_config.json", "generation_config.json", "merged"} <= {p.name for p in out.iterdir()}
    run_stage(data_repo, "infer", monkeypatch)
    rows = (data_repo.root / "data/predictions/finetuned/test.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "id,text" and len(rows) == 1 + 6


@pytest.mark.slow
def test_dvc_repro_scores_a_vlm_beside_the_peer(tmp_path):
    folder = build_tiny_vlm("qwen2_vl", tmp_path / "qwen2_vl", CHARACTERS, seed=0)
    repo = DvcRepo.create(tmp_path / "repo", {"model": {"base": str(folder)}, "finetune": {"max_steps": 2}})
    repo.run("dvc", "repro")
    scores = json.loads((repo.root / "metrics/scores.json").read_text())
    assert set(scores) == {"finetuned", "base", "peer"} and all(s["n"] == 6 for s in scores.values())
    assert yaml.safe_load((repo.root / "params.yaml").read_text())["model"]["base"] == str(folder)
    assert "Data and pipelines are up to date." in repo.run("dvc", "status").stdout


def test_max_pixels_shrinks_the_band_keeping_its_aspect():
    band = Image.new("RGB", (1920, 378))
    small = shrink(band, 200_000)
    assert small.width * small.height <= 200_000 and abs(small.width / small.height - 1920 / 378) < 0.02
    assert shrink(band, None) is band and shrink(band, 10**7) is band
