"""Fine-tunes the CTC recogniser with the Hugging Face Trainer: DVCLive curves, regular checkpoints, and resume
after an interruption when the checkpoint was made with the same parameters and data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from dvclive import Live
from transformers import EvalPrediction, Trainer, TrainerCallback, TrainingArguments

from .config import require
from .ctc import CtcCharset
from .recognizer import LABEL_PAD, SubtitleRecognizer
from .scoring import score

FINGERPRINT = "fingerprint.txt"


@dataclass(frozen=True)
class FinetuneConfig:
    max_steps: int = 300
    batch_size: int = 16
    learning_rate: float = 1e-4
    train_backbone: bool = False  # False: only the SVTR neck and the CTC head learn (about 3x faster on CPU)
    lr_scheduler: str = "cosine"  # any transformers SchedulerType: linear, cosine, constant_with_warmup, ...
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    augment: bool = True
    eval_every: int = 100  # steps between validation CER measurements
    eval_samples: int = 200  # validation frames used for them
    checkpoint_every: int = 100
    logging_every: int = 10

    def __post_init__(self) -> None:
        require(self.max_steps > 0 and self.batch_size > 0, "finetune.max_steps and finetune.batch_size must be > 0")
        require(0.0 <= self.warmup_ratio < 1.0, "finetune.warmup_ratio must lie in [0, 1)")


def fingerprint(settings: dict, data_files: list[Path]) -> str:
    """What a checkpoint was trained on: the settings and the bytes of the data files."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in data_files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def library_files() -> list[Path]:
    """The source of this package: a checkpoint made by other code is not resumed."""
    return sorted(Path(__file__).parent.glob("*.py"))


def last_complete_checkpoint(folder: Path, expected: str) -> Path | None:
    """The newest checkpoint whose trainer state was written (a kill mid-save leaves that file out), if the
    folder's fingerprint matches; otherwise the folder is emptied for a fresh start."""
    folder = Path(folder)
    stamp = folder / FINGERPRINT
    if not stamp.is_file() or stamp.read_text() != expected:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        stamp.write_text(expected)
        return None
    complete = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(complete, key=lambda p: int(p.name.split("-")[1]), default=None)


def forget_history_after(live_dir: Path, step: int) -> None:
    """Drop DVCLive rows logged after `step`: the run resumes from that checkpoint and logs those steps again."""
    for table in Path(live_dir).glob("plots/metrics/**/*.tsv"):
        header, *rows = table.read_text().splitlines()
        kept = [row for row in rows if int(row.split("\t", 1)[0]) <= step]
        table.write_text("\n".join([header, *kept]) + "\n")


class DvcLiveCallback(TrainerCallback):
    """Logs loss, learning rate and validation CER against the Trainer's global step."""

    def __init__(self, live: Live):
        self.live = live

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.live.step = state.global_step
        for key, value in (logs or {}).items():
            if key in {"loss", "learning_rate", "grad_norm"}:
                self.live.log_metric(f"train/{key}", value)
            elif key in {"eval_loss", "eval_cer", "eval_exact_match"}:
                self.live.log_metric(f"val/{key.removeprefix('eval_')}", value)
        self.live.make_summary()

    def on_train_end(self, args, state, control, **kwargs):
        self.live.end()


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


def train(model: SubtitleRecognizer, train_set, val_set, collate, config: FinetuneConfig, seed: int,
          checkpoints: Path, live_dir: Path, settings_fingerprint: str) -> SubtitleRecognizer:
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    model.net.backbone.requires_grad_(config.train_backbone)
    resume_from = last_complete_checkpoint(checkpoints, settings_fingerprint)
    args = TrainingArguments(
        output_dir=str(checkpoints),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=seed,
        eval_strategy="steps",
        eval_steps=config.eval_every,
        save_strategy="steps",
        save_steps=config.checkpoint_every,
        save_total_limit=2,
        logging_steps=config.logging_every,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=False,
    )
    if resume_from is not None:
        forget_history_after(live_dir, int(resume_from.name.split("-")[1]))
    live = Live(str(live_dir), resume=resume_from is not None, save_dvc_exp=False, dvcyaml=None, report=None)
    live.log_params({"finetune": asdict(config), "resumed_from": resume_from.name if resume_from else None})
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=collate,
        compute_metrics=cer_metrics(model.charset),
        preprocess_logits_for_metrics=best_path,
        callbacks=[DvcLiveCallback(live)],
    )
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    return trainer.model
