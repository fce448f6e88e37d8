"""Fine-tunes any image-text-to-text VLM on the rendered frames with the Hugging Face Trainer: the subtitle band as
the image, the frame's LLaVA conversation through the processor's chat template, LoRA (or full training) as the
`lora` params say, and validation CER measured by greedy generation, logged to DVCLive.

Under `accelerate launch` or `torchrun` the same code trains on several GPUs: the Trainer spreads the batches,
each process generates answers for its share of the validation frames, and only the main process saves.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from accelerate.utils import gather_object
from transformers import GenerationConfig, Trainer

from zhtw_subtitles.dataset.frames import decode_frame
from zhtw_subtitles.dataset.llava_json import read_conversations
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.models.registry import ModelConfig
from zhtw_subtitles.models.vlm_chat import (
    AnswerOnlyCollator,
    VlmReader,
    answer_token_budget,
    band_image,
    end_of_turn_ids,
)
from zhtw_subtitles.models.vlm_models import (
    MERGED_DIR,
    LoraConfig,
    prepare_for_training,
    write_merged,
)
from zhtw_subtitles.reading.band import crop_band
from zhtw_subtitles.scoring.metrics import score
from zhtw_subtitles.training.trainer import (
    FinetuneConfig,
    live_callbacks,
    resume_point,
    training_arguments,
    use_all_cores,
)


@dataclass(frozen=True)
class Example:
    key: str
    jpeg: bytes
    prompt: str
    answer: str


def read_examples(json_path: Path, split_dir: Path, limit: int | None = None) -> list[Example]:
    """The LLaVA records of `json_path` with their frames' JPEG bytes (decoded only when used)."""
    conversations = dict(list(read_conversations(json_path).items())[:limit])
    jpegs = {s.key: s.jpeg for s in read_split(split_dir) if s.key in conversations}
    return [Example(key, jpegs[key], *conversations[key]) for key in conversations if key in jpegs]


class BandDataset(torch.utils.data.Dataset):
    def __init__(self, examples: list[Example], crop, max_pixels: int | None):
        self.examples, self.crop, self.max_pixels = examples, crop, max_pixels

    def __len__(self) -> int:
        return len(self.examples)

    def image(self, index: int):
        frame = decode_frame(self.examples[index].jpeg)
        if frame is None:
            raise ValueError(f"frame {self.examples[index].key} cannot be decoded: re-run `dvc repro render_synth`")
        return band_image(crop_band(frame, self.crop), self.max_pixels)

    def __getitem__(self, index: int) -> dict:
        example = self.examples[index]
        return {"image": self.image(index), "prompt": example.prompt, "answer": example.answer}


class GenerationEvalTrainer(Trainer):
    """Evaluation is what inference does: greedy answers to the validation frames, scored by CER. Each process
    reads its own contiguous share of the frames; the answers are gathered in order for the score."""

    def __init__(self, *args, reader_settings: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.reader_settings = reader_settings

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        dataset: BandDataset = eval_dataset or self.eval_dataset
        model = self.accelerator.unwrap_model(self.model)
        reader = VlmReader(model, self.processing_class, **self.reader_settings)
        share = process_share(len(dataset), self.accelerator.process_index, self.accelerator.num_processes)
        texts: list[str] = []
        for start in range(share.start, share.stop, self.args.per_device_eval_batch_size):
            indices = range(start, min(start + self.args.per_device_eval_batch_size, share.stop))
            texts += reader.read_images([dataset.image(i) for i in indices])
        model.train()
        texts = gather_object(texts)
        result = score([e.answer for e in dataset.examples], texts)
        metrics = {f"{metric_key_prefix}_cer": result["cer"], f"{metric_key_prefix}_exact_match": result["exact_match"]}
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def process_share(count: int, index: int, processes: int) -> range:
    """Process `index`'s contiguous share of `count` items: the shares, in process order, are all of them once."""
    return range(count * index // processes, count * (index + 1) // processes)


def train_vlm(model, processor, train_set: BandDataset, val_set: BandDataset, config: FinetuneConfig,
              lora: LoraConfig, seed: int, checkpoints: Path, live_dir: Path, settings_fingerprint: str):
    use_all_cores()
    model = prepare_for_training(model, lora)
    if config.gradient_checkpointing:
        model.enable_input_require_grads()  # frozen embeddings would otherwise cut the gradient at the first layer
    args = training_arguments(config, seed, checkpoints, evaluate_by_trainer=False)
    resume_from = resume_point(checkpoints, settings_fingerprint, args)
    prompt = val_set.examples[0].prompt if val_set.examples else train_set.examples[0].prompt
    trainer = GenerationEvalTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=AnswerOnlyCollator(processor),
        processing_class=processor,
        callbacks=live_callbacks(args, live_dir, resume_from, {"finetune": asdict(config), "lora": asdict(lora)}),
        reader_settings={"prompt": prompt, "max_pixels": train_set.max_pixels,
                         "max_new_tokens": answer_token_budget(processor.tokenizer, [e.answer for e in train_set.examples])},
    )
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    return trainer


def save_vlm(model, processor, folder: Path, answers: Iterable[str],
             merge_onto: tuple[str, ModelConfig] | None = None) -> None:
    """The adapter (or the fully trained model), the processor and a generation config whose max_new_tokens
    covers the longest training subtitle. With `merge_onto` (the base's folder and the model params) and an
    adapter, also `merged/`: the adapter folded into the base in 16/32-bit, loadable without peft."""
    folder = Path(folder)
    generation = GenerationConfig(max_new_tokens=answer_token_budget(processor.tokenizer, list(answers)),
                                  eos_token_id=end_of_turn_ids(processor), do_sample=False,
                                  pad_token_id=processor.tokenizer.pad_token_id)
    model.save_pretrained(folder)
    folders = [folder]
    if merge_onto is not None and (folder / "adapter_config.json").is_file():
        write_merged(folder, *merge_onto)
        folders.append(folder / MERGED_DIR)
    for target in folders:
        processor.save_pretrained(target)
        generation.save_pretrained(target)
