"""Stage score: data/predictions/*/test.csv against the test subtitles -> metrics/scores.json,
metrics/cer_by_length.csv (a dvc plot) and metrics/worst_predictions.png."""
from pathlib import Path

from zhtw_subtitles.core.atomic import write_text
from zhtw_subtitles.core.config import ConfigError, parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import PREDICTIONS, SYNTH_TEST
from zhtw_subtitles.dataset.frames import shard_frames
from zhtw_subtitles.dataset.predictions_csv import read_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.reading.band import crop_band
from zhtw_subtitles.scoring.metrics import cer_by_length, score
from zhtw_subtitles.scoring.worst_sheet import worst_predictions_sheet

MODELS = ("finetuned", "base", "peer")  # the fine-tuned recogniser, the same before fine-tuning, rapidocr
SCORES = Path("metrics/scores.json")
BY_LENGTH = Path("metrics/cer_by_length.csv")
WORST = Path("metrics/worst_predictions.png")


def predictions_of(model: str, ids: list[str]) -> list[str]:
    path = PREDICTIONS / model / "test.csv"
    predicted = read_csv_predictions(path)
    missing = [i for i in ids if i not in predicted]
    if missing:
        raise ConfigError(f"{path} has no prediction for {len(missing)} test frame(s), e.g. {missing[0]}: re-run its stage")
    return [predicted[i] for i in ids]


def main() -> None:
    crop = parse_crop(stage_params("score")["crop"])
    manifest = read_manifest(SYNTH_TEST)
    if not manifest:
        raise ConfigError(f"{SYNTH_TEST} holds no frames to score")
    ids = [row["key"] for row in manifest]
    truths = [row["text"] for row in manifest]
    predicted = {model: predictions_of(model, ids) for model in MODELS}
    scores = {model: score(truths, predicted[model]) for model in MODELS}
    write_metrics(SCORES, scores)

    by_length = {model: cer_by_length(truths, predicted[model]) for model in MODELS}
    rows = ["length,n," + ",".join(MODELS)]
    for position, row in enumerate(by_length["finetuned"]):
        rows.append(f"{row['length']},{row['n']}," + ",".join(str(by_length[m][position]["cer"]) for m in MODELS))
    write_text(BY_LENGTH, "\n".join(rows) + "\n")

    bands = (crop_band(frame.pixels, crop) if frame.pixels is not None else None for frame in shard_frames(SYNTH_TEST))
    items = ((band, truth, text) for band, truth, text in zip(bands, truths, predicted["finetuned"]) if band is not None)
    worst_predictions_sheet(items, WORST)
    for model in MODELS:
        print(f"{model:9s} CER {scores[model]['cer']:.4f}  mean edits/frame {scores[model]['mean_edit_distance']:.3f}  "
              f"exact {scores[model]['exact_match']:.3f}")


if __name__ == "__main__":
    run_stage(main)
