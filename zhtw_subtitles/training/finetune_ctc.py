"""Fine-tunes the built-in CTC recogniser with the Hugging Face Trainer (see trainer.py for what all runs share)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from transformers import EvalPrediction, Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.models.ctc import CtcCharset
from zhtw_subtitles.models.recognizer import LABEL_PAD, SubtitleRecognizer
from zhtw_subtitles.scoring.metrics import score
from zhtw_subtitles.training.trainer import (
    FinetuneConfig,
    live_callbacks,
    resume_point,
    training_arguments,
    use_all_cores,
)


def cer_metrics(charset: CtcCharset):
    def compute(prediction: EvalPrediction) -> dict[str, float]:
        paths = np.where(prediction.predictions == LABEL_PAD, 0, prediction.predictions)
        texts = [charset.decode_path(path) for path in paths.tolist()]
        truths = ["".join(charset.characters[i - 1] for i in row if i != LABEL_PAD) for row in prediction.label_ids.tolist()]
        result = score(truths, texts)
        return {"cer": result["cer"], "exact_match": result["exact_match"]}

    return compute


def best_path(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return logits.argmax(dim=-1)  # keeps N x T ids instead of N x T x 18k scores in memory


class WidthGroupedTrainer(Trainer):
    """A Trainer whose batches hold lines of like widths (transformers' own LengthGroupedSampler: random groups of 50
    batches, sorted within). A batch is padded to its widest line, and random batches of subtitle lines pad to
    1.4x the pixels they hold."""

    def _get_train_sampler(self, train_dataset=None):
        dataset = self.train_dataset if train_dataset is None else train_dataset
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                    lengths=dataset.input_widths)


def train(model: SubtitleRecognizer, train_set, val_set, collate, config: FinetuneConfig, seed: int,
          checkpoints: Path, live_dir: Path, settings_fingerprint: str) -> Trainer:
    """The trained Trainer; under several processes only its main process (`is_world_process_zero`) should save."""
    if not len(train_set) or not len(val_set):
        raise ConfigError(f"{len(train_set)} training and {len(val_set)} validation lines to fine-tune on; both need at "
                          "least one: raise render.num_images or json.val_fraction")
    use_all_cores()
    model.net.backbone.requires_grad_(config.train_backbone)
    args = training_arguments(config, seed, checkpoints, evaluate_by_trainer=True)
    resume_from = resume_point(checkpoints, settings_fingerprint, args)
    trainer = (WidthGroupedTrainer if config.group_by_width else Trainer)(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=collate,
        compute_metrics=cer_metrics(model.charset),
        preprocess_logits_for_metrics=best_path,
        callbacks=live_callbacks(args, live_dir, resume_from, {"finetune": asdict(config)}),
    )
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    return trainer
