"""Stage score: data/predictions/<reader>/<split>.csv against the subtitles of both test splits (data/synth/test,
drawn like the training frames, and data/synth/unseen, in fonts, backgrounds and styles training never saw)
-> metrics/scores.json ({split: {reader: scores}}), metrics/cer_by_length.csv (a dvc plot, the test split) and
metrics/worst_predictions.png (the fine-tuned model's worst reads over both splits)."""
import itertools
from pathlib import Path

from zhtw_subtitles.core.atomic import write_text
from zhtw_subtitles.core.config import ConfigError, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import PREDICTIONS
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.predictions_csv import TEST_SPLITS, read_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.reading.band import crop_band
from zhtw_subtitles.scoring.metrics import cer_by_length, score
from zhtw_subtitles.scoring.worst_sheet import worst_predictions_sheet

MODELS = ("finetuned", "base", "peer")  # the fine-tuned recogniser, the same before fine-tuning, rapidocr
SCORES = Path("metrics/scores.json")
BY_LENGTH = Path("metrics/cer_by_length.csv")
WORST = Path("metrics/worst_predictions.png")


def predictions_of(model: str, split: str, ids: list[str]) -> list[str]:
    path = PREDICTIONS / model / f"{split}.csv"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: run `dvc repro` to have {model} read the {split} split")
    predicted = read_csv_predictions(path)
    missing = [i for i in ids if i not in predicted]
    if missing:
        raise ConfigError(f"{path} has no prediction for {len(missing)} {split} frame(s), e.g. {missing[0]}: re-run its stage")
    return [predicted[i] for i in ids]


def truths_of(split: str) -> tuple[list[str], list[str]]:
    manifest = read_manifest(TEST_SPLITS[split])
    if not manifest:
        raise ConfigError(f"{TEST_SPLITS[split]} holds no frames to score")
    return [row["key"] for row in manifest], [row["text"] for row in manifest]


def cer_by_length_rows(truths: list[str], predicted: dict[str, list[str]]) -> str:
    by_length = {model: cer_by_length(truths, predicted[model]) for model in MODELS}
    rows = ["length,n," + ",".join(MODELS)]
    for position, row in enumerate(by_length["finetuned"]):
        rows.append(f"{row['length']},{row['n']}," + ",".join(str(by_length[m][position]["cer"]) for m in MODELS))
    return "\n".join(rows) + "\n"


def print_scores(scores: dict) -> None:
    def share(value) -> str:
        return "  n/a " if value is None else f"{value:.4f}"

    for split, readers in scores.items():
        for model, s in readers.items():
            print(f"{split:6s} {model:9s} CER {s['cer']:.4f}  normalised {s['cer_normalised']:.4f}  "
                  f"exact {s['exact_match']:.3f}  false readings {share(s['false_readings'])}  "
                  f"missed {share(s['missed'])}  ({s['n']} frames)")


def main() -> None:
    crop = parse_crop(stage_params("score")["crop"])
    truths, predicted, scores = {}, {}, {}
    for split in TEST_SPLITS:
        ids, truths[split] = truths_of(split)
        predicted[split] = {model: predictions_of(model, split, ids) for model in MODELS}
        scores[split] = {model: score(truths[split], predicted[split][model]) for model in MODELS}
    write_metrics(SCORES, scores)
    write_text(BY_LENGTH, cer_by_length_rows(truths["test"], predicted["test"]))

    def items(split: str):
        bands = (None if frame.pixels is None else crop_band(frame.pixels, crop) for frame in shard_frames(TEST_SPLITS[split]))
        return ((band, truth, text) for band, truth, text in zip(bands, truths[split], predicted[split]["finetuned"])
                if band is not None)

    worst_predictions_sheet(itertools.chain.from_iterable(items(split) for split in TEST_SPLITS), WORST)
    print_scores(scores)


if __name__ == "__main__":
    run_stage(main)
