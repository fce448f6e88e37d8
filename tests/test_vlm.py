"""The VLM route on tiny random-initialised models of real architectures, built locally (Qwen2-VL, Qwen3-VL,
PaddleOCR-VL, HunYuanVL, LLaVA, Idefics3): label masking (character tokenizers and byte-level BPEs), LoRA training,
adapter reload, merge, resume, and the real finetune/infer/score stages with model.base=<folder>."""
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
from zhtw_subtitles.dataset.predictions_csv import read_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.models.recognizer import LABEL_PAD
from zhtw_subtitles.models.registry import ModelConfig, resolve_vlm
from zhtw_subtitles.models.vlm_chat import (
    AnswerOnlyCollator,
    VlmReader,
    answer_token_budget,
    chat_text,
    clean_answer,
    shrink,
    turn_closing,
)
from zhtw_subtitles.models.vlm_models import (
    LoraConfig,
    load_vlm,
    part_prefixes,
    prepare_for_training,
)
from zhtw_subtitles.reading.readers import trained_reader
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.testing.tiny_vlms import TINY_ARCHITECTURES, build_tiny_vlm
from zhtw_subtitles.training.finetune_vlm import (
    BandDataset,
    Example,
    save_vlm,
    train_vlm,
)
from zhtw_subtitles.training.trainer import FinetuneConfig

PROMPT = "<image>\n請辨認圖片中央底部的白色字幕"
ANSWERS = ["明天見", "謝謝你 再見", "我知道了", "今天天氣很好"]
TEXTS = [*ANSWERS, PROMPT]  # what the tiny models' tokenizers are built from
CROP = (0.0, 0.65, 1.0, 1.0)


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


@pytest.fixture(scope="module", params=TINY_ARCHITECTURES)
def tiny(request, tmp_path_factory) -> Path:
    return build_tiny_vlm(request.param, tmp_path_factory.mktemp(request.param) / "model", TEXTS, seed=0)


def loaded(folder: Path):
    return load_vlm(str(folder), default_config(ModelConfig, "model", base=str(folder)), None, for_training=True)


def collated(processor, examples: list[Example]) -> tuple[list[dict], dict]:
    dataset = BandDataset(examples, CROP, None)
    items = [dataset[i] for i in range(len(dataset))]
    return items, AnswerOnlyCollator(processor)(items)


def test_only_the_answer_and_what_closes_its_turn_are_supervised(tiny, examples):
    _, processor = loaded(tiny)
    items, batch = collated(processor, examples)
    image_token = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    for row, labels, item in zip(batch["input_ids"], batch["labels"], items):
        text = chat_text(processor, item["prompt"], item["answer"])
        closing = text[text.rindex(item["answer"]) + len(item["answer"]):]  # the end-of-turn mark (and a newline)
        assert closing.strip()
        supervised = processor.tokenizer.decode(labels[labels != LABEL_PAD])
        # A byte-level BPE may carry the prompt's last space into the answer's first token: that token is learnt.
        assert supervised.removeprefix(" ") == item["answer"] + closing
        assert (row == image_token).any() and not (labels == image_token).any()
    assert (batch["labels"][batch["attention_mask"] == 0] == LABEL_PAD).all()


def test_an_empty_answer_learns_to_close_the_turn_and_a_two_line_answer_is_learnt_whole(tiny):
    _, processor = loaded(tiny)
    closing = turn_closing(processor)  # the end-of-turn mark (and a newline)
    assert closing.strip()
    no_subtitle = cv2.imencode(".jpg", np.full((720, 1280, 3), 90, np.uint8))[1].tobytes()
    items, batch = collated(processor, [Example("empty", no_subtitle, PROMPT, ""),
                                        Example("two", band_jpeg("明天見"), PROMPT, "明天見\n謝謝你")])
    for labels, item in zip(batch["labels"], items):
        supervised = processor.tokenizer.decode(labels[labels != LABEL_PAD])
        assert supervised.removeprefix(" ") == item["answer"] + closing


def test_supervision_starts_where_the_prompt_ends_or_at_the_token_merged_across_it(tiny, examples):
    """The prompt encoded alone (with its image) is masked whole, unless a BPE merge joins its last character to
    the answer's first: then the merged token, which the model must produce, is the first one learnt."""
    _, processor = loaded(tiny)
    items, batch = collated(processor, examples)
    prompts = processor(text=[chat_text(processor, item["prompt"]) for item in items],
                        images=[[item["image"]] for item in items], padding=True, return_tensors="pt")
    crossings = 0
    for row, labels, prompt_row, prompt_mask, item in zip(batch["input_ids"], batch["labels"], prompts["input_ids"],
                                                          prompts["attention_mask"], items):
        prompt = prompt_row[prompt_mask.bool()]
        masked = int((labels == LABEL_PAD).long().cumprod(0).sum())
        if torch.equal(row[:len(prompt)], prompt):
            assert masked == len(prompt)
        else:
            crossings += 1
            assert masked == len(prompt) - 1 and torch.equal(row[:masked], prompt[:masked])
            assert processor.tokenizer.decode(row[masked]).strip().startswith(item["answer"][0])
    if "paddleocr_vl" in str(tiny):  # "Assistant: " then the answer: Qwen2's pre-tokenizer keeps " 明" together
        assert crossings > 0


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
    assert clean_answer("assistant: 明天見\n謝謝你\n明天見明天見", PROMPT) == "明天見\n謝謝你"  # a cue has two lines at most
    assert clean_answer("請辨認圖片中央底部的白色字幕明天見", PROMPT) == "明天見"
    assert clean_answer("  \n", PROMPT) == ""


def frame_bands(examples: list[Example]) -> list[np.ndarray]:
    return [cv2.imdecode(np.frombuffer(e.jpeg, np.uint8), cv2.IMREAD_COLOR)[468:] for e in examples]


@pytest.mark.slow
def test_lora_learns_a_tiny_batch_and_reloads_and_merges_with_the_same_answers(tiny, tmp_path, examples):
    model, processor = loaded(tiny)
    dataset = BandDataset(examples, CROP, None)
    batch = AnswerOnlyCollator(processor)([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        loss_before = model(**batch).loss.item()
    config = default_config(FinetuneConfig, "finetune", max_steps=10, batch_size=4, learning_rate=2e-2,
                            warmup_ratio=0.0, eval_every=10, eval_samples=4, checkpoint_every=10, logging_every=5)
    lora = default_config(LoraConfig, "lora", r=8, alpha=16, dropout=0.0)
    trainer = train_vlm(model, processor, dataset, dataset, config, lora, 0, tmp_path / "checkpoints", tmp_path / "live", "s")
    with torch.no_grad():
        loss_after = trainer.model.eval()(**batch).loss.item()
    assert loss_after < 0.95 * loss_before
    assert set(json.loads((tmp_path / "live/metrics.json").read_text())["val"]) == {"cer", "exact_match"}

    bands = frame_bands(examples)
    budget = answer_token_budget(processor.tokenizer, ANSWERS)  # what the saved generation config holds
    trained_answers = VlmReader(trainer.model, processor, PROMPT, budget, None).read(bands)
    model_config = default_config(ModelConfig, "model", base=str(tiny))
    save_vlm(trainer.model, processor, tmp_path / "out", ANSWERS, merge_onto=(str(tiny), model_config))
    assert json.loads((tmp_path / "out/adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny)
    assert (tmp_path / "out/merged/config.json").is_file()
    assert trained_reader(tmp_path / "out", model_config, PROMPT).read(bands) == trained_answers
    shutil.rmtree(tmp_path / "out/merged")  # now the base + adapter route
    assert trained_reader(tmp_path / "out", model_config, PROMPT).read(bands) == trained_answers


@pytest.mark.slow
def test_a_rerun_resumes_from_the_last_checkpoint(tiny, tmp_path, examples):
    config = default_config(FinetuneConfig, "finetune", max_steps=4, batch_size=2, eval_every=4, eval_samples=2,
                            checkpoint_every=2, logging_every=1)

    def run():
        model, processor = loaded(tiny)
        return train_vlm(model, processor, BandDataset(examples, CROP, None), BandDataset(examples[:2], CROP, None),
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
    assert_one_prediction_per_test_frame(data_repo)


def assert_one_prediction_per_test_frame(repo: DvcRepo) -> None:
    """A prediction per test frame, by id (an untrained VLM's answer may hold newlines: the CSV quotes them)."""
    path = repo.root / "data/predictions/finetuned/test.csv"
    assert path.read_text(encoding="utf-8").startswith("id,text\n")
    assert set(read_csv_predictions(path)) == {row["key"] for row in read_manifest(repo.root / "data/synth/test")}


@pytest.mark.slow
def test_the_built_in_cpu_vlm_is_saved_merged_and_reads(data_repo, monkeypatch):
    """subtitle_vlm_cpu is built in a temporary folder: what the stage saves must load without it."""
    data_repo.set_params({"model": {"base": "subtitle_vlm_cpu", "max_pixels": None},
                          "finetune": {"max_steps": 2, "merge": False, "gradient_checkpointing": False},
                          "lora": {"r": 4, "alpha": 8}})
    run_stage(data_repo, "finetune", monkeypatch)
    merged = data_repo.root / "models/recognizer/merged"
    assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
    run_stage(data_repo, "infer", monkeypatch)
    assert_one_prediction_per_test_frame(data_repo)


@pytest.mark.slow
def test_dvc_repro_scores_a_vlm_beside_the_peer(tmp_path):
    folder = build_tiny_vlm("qwen3_vl", tmp_path / "qwen3_vl", TEXTS, seed=0)
    repo = DvcRepo.create(tmp_path / "repo", {"model": {"base": str(folder)}, "finetune": {"max_steps": 2}})
    repo.run("dvc", "repro")
    scores = json.loads((repo.root / "metrics/scores.json").read_text())["test"]
    assert set(scores) == {"finetuned", "base", "peer"} and all(s["n"] == 6 for s in scores.values())
    assert yaml.safe_load((repo.root / "params.yaml").read_text())["model"]["base"] == str(folder)
    assert "Data and pipelines are up to date." in repo.run("dvc", "status").stdout


def test_max_pixels_shrinks_the_band_keeping_its_aspect():
    band = Image.new("RGB", (1920, 378))
    small = shrink(band, 200_000)
    assert small.width * small.height <= 200_000 and abs(small.width / small.height - 1920 / 378) < 0.02
    assert shrink(band, None) is band and shrink(band, 10**7) is band
