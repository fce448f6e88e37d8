"""The reader `infer` and `baselines` run on the test frames, whatever model.base is: the CTC recogniser on
onnxruntime, or a VLM answering the instruction prompt by greedy generation."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from transformers import GenerationConfig

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.dataset.llava_json import read_conversations, vocabulary_texts
from zhtw_subtitles.models.registry import (
    ModelConfig,
    is_ctc_recognizer,
    load_for_inference,
    load_line_finder,
)
from zhtw_subtitles.models.vlm_chat import VlmReader, answer_token_budget
from zhtw_subtitles.models.vlm_models import (
    inference_dtype,
    load_base_vlm,
    load_trained_vlm,
)
from zhtw_subtitles.reading.inference import BandReader, LineReader
from zhtw_subtitles.reading.line_finder import LineFinder


@dataclass(frozen=True)
class InferConfig:
    """The `infer` params."""
    batch_size: int
    frames_dir: str | None  # e.g. the competition's test/ folder: adds submission.csv
    csv_line_separator: str  # submission.csv: between the lines of a two-line subtitle
    prompt: str | None  # VLMs: the instruction; null takes the first of json.prompts
    min_confidence: float  # line recognisers: a line read less surely than this is dropped

    def __post_init__(self) -> None:
        require(0 <= self.min_confidence < 1, f"infer.min_confidence must lie in [0, 1), got {self.min_confidence}")


def instruction(params: dict) -> str:
    """The VLM instruction at inference, from the params `infer.prompt` and `json.prompts`."""
    return params["infer"]["prompt"] or params["json"]["prompts"][0]


def line_finder_for(reader: LineReader | BandReader, folder: Path, threads: int = 0) -> LineFinder | None:
    """The learned line finder in `folder` for a line recogniser, on `threads` threads (0: every core); None for a
    VLM, which reads the whole band."""
    return None if getattr(reader, "reads_bands", False) else load_line_finder(folder, threads)


def trained_reader(folder: Path, config: ModelConfig, prompt: str) -> LineReader | BandReader:
    """What the finetune stage wrote into `folder`."""
    if not any((Path(folder) / name).is_file() for name in ("config.json", "adapter_config.json")):
        raise ConfigError(f"{folder} holds no saved model: run `dvc repro finetune` or `dvc pull` first")
    if is_ctc_recognizer(folder):
        return load_for_inference(folder)
    model, processor = load_trained_vlm(folder, config)
    budget = GenerationConfig.from_pretrained(folder).max_new_tokens
    return VlmReader(model, processor, prompt, budget, config.max_pixels)


def base_reader(config: ModelConfig, prompt: str, train_json: Path, seed: int) -> LineReader | BandReader:
    """model.base before fine-tuning; a VLM may answer at most as long as the longest training subtitle."""
    if is_ctc_recognizer(config.base):
        return load_for_inference(config.base)
    conversations = read_conversations(train_json)
    with tempfile.TemporaryDirectory() as scratch:
        model, processor, _ = load_base_vlm(config, vocabulary_texts(conversations), seed, Path(scratch),
                                            inference_dtype(), for_training=False)
    answers = [answer for _, answer in conversations.values()]
    return VlmReader(model, processor, prompt, answer_token_budget(processor.tokenizer, answers), config.max_pixels)
