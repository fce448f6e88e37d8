"""What every fine-tuning run shares, whatever the model: the `finetune` params, the Hugging Face Trainer's
arguments, DVCLive curves against the global step, regular checkpoints, and resume after an interruption when the
checkpoint was made with the same parameters, data and code.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from dvclive import Live
from transformers import TrainerCallback, TrainingArguments

from zhtw_subtitles.core.config import ConfigError, require

FINGERPRINT = "fingerprint.txt"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class FinetuneConfig:
    """The `finetune` params."""
    max_steps: int
    epochs: float | None  # when set, train this many passes over the data instead of max_steps
    batch_size: int  # per device
    gradient_accumulation: int
    learning_rate: float
    lr_scheduler: str  # any transformers SchedulerType: linear, cosine, constant_with_warmup, ...
    warmup_ratio: float
    weight_decay: float
    precision: str  # auto: bf16 on a CUDA GPU that has it, else fp16 on CUDA, fp32 on CPU
    gradient_checkpointing: bool  # VLMs: trade compute for activation memory
    eval_every: int  # steps between validation CER measurements
    eval_samples: int  # validation frames used for them
    checkpoint_every: int
    logging_every: int
    merge: bool  # VLMs: also write LoRA-merged weights that load without peft
    train_backbone: bool  # built-in recogniser: False trains only the SVTR neck and CTC head (3x faster)
    augment: bool  # built-in recogniser: jitter the line crop's margins and contrast
    group_by_width: bool  # built-in recogniser: batches of lines of like widths (less padding, faster steps)
    suppress_simplified: bool  # built-in recogniser: never read a Simplified-only character (text/script.py)

    def __post_init__(self) -> None:
        require(self.max_steps > 0 and self.batch_size > 0 and self.gradient_accumulation > 0,
                "finetune.max_steps, finetune.batch_size and finetune.gradient_accumulation must be > 0")
        require(self.epochs is None or self.epochs > 0, "finetune.epochs must be > 0 or null")
        require(0.0 <= self.warmup_ratio < 1.0, "finetune.warmup_ratio must lie in [0, 1)")
        require(self.precision in PRECISIONS, f"finetune.precision must be one of {PRECISIONS}, got {self.precision!r}")


def half_precision(precision: str) -> torch.dtype | None:
    """The dtype mixed precision trains in, or None for full fp32; half precision needs a CUDA GPU."""
    if precision == "auto":
        if not torch.cuda.is_available():
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp32":
        return None
    if not torch.cuda.is_available():
        raise ConfigError(f"finetune.precision={precision} needs a CUDA GPU; use auto or fp32 on a CPU")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def training_arguments(config: FinetuneConfig, seed: int, checkpoints: Path, evaluate_by_trainer: bool) -> TrainingArguments:
    dtype = half_precision(config.precision)
    return TrainingArguments(
        output_dir=str(checkpoints),
        max_steps=-1 if config.epochs else config.max_steps,
        num_train_epochs=config.epochs or 1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a fraction of the training steps
        weight_decay=config.weight_decay,
        bf16=dtype == torch.bfloat16,
        fp16=dtype == torch.float16,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        seed=seed,
        eval_strategy="steps",
        eval_steps=config.eval_every,
        prediction_loss_only=not evaluate_by_trainer,
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


def fingerprint(settings: dict, data_files: list[Path]) -> str:
    """What a checkpoint was trained on: the settings and the bytes of the data files."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in data_files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def library_files() -> list[Path]:
    """The source of this package: a checkpoint made by other code is not resumed."""
    package = Path(__file__).parents[1]
    return sorted(path for path in package.rglob("*.py") if "testing" not in path.relative_to(package).parts)


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


def resume_point(folder: Path, expected: str, args: TrainingArguments) -> Path | None:
    """last_complete_checkpoint under any number of processes: the main one sets the folder up while the others
    wait, then they find it set up and the same checkpoint, instead of each emptying it under the others."""
    with args.main_process_first(local=False, desc="checkpoint folder set-up"):
        return last_complete_checkpoint(folder, expected)


def forget_history_after(live_dir: Path, step: int) -> None:
    """Drop DVCLive rows logged after `step`: the run resumes from that checkpoint and logs those steps again."""
    for table in Path(live_dir).glob("plots/metrics/**/*.tsv"):
        header, *rows = table.read_text().splitlines()
        kept = [row for row in rows if int(row.split("\t", 1)[0]) <= step]
        table.write_text("\n".join([header, *kept]) + "\n")


def start_live(live_dir: Path, resume_from: Path | None, params: dict) -> Live:
    """DVCLive for a run that starts fresh or resumes from `resume_from`, without rows logged twice."""
    if resume_from is not None:
        forget_history_after(live_dir, int(resume_from.name.split("-")[1]))
    live = Live(str(live_dir), resume=resume_from is not None, save_dvc_exp=False, dvcyaml=None, report=None)
    live.log_params({**params, "resumed_from": resume_from.name if resume_from else None})
    return live


def live_callbacks(args: TrainingArguments, live_dir: Path, resume_from: Path | None, params: dict) -> list[TrainerCallback]:
    """DVCLive logging, on the main process only: no other process opens, rewrites or logs to its files."""
    if args.process_index != 0:
        return []
    return [DvcLiveCallback(start_live(live_dir, resume_from, {**params, "processes": args.world_size}))]


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


def end_processes() -> None:
    """Under torchrun or accelerate: wait until every process is done (the main one saves last), then close the
    process group. A rank that exits with gloo's threads still running aborts ("terminate called without an active
    exception") and fails the launch."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def use_all_cores() -> None:
    """Torch threads: this machine's cores, shared among the processes of this machine (torchrun, accelerate)."""
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // processes))
