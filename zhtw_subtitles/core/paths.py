"""Where the pipeline's data lives: the paths that dvc.yaml names and several stages share."""
from pathlib import Path

SENTENCES = Path("data/sentences")
SYNTH = Path("data/synth")
SYNTH_TRAIN = SYNTH / "train"
SYNTH_TEST = SYNTH / "test"
SYNTH_UNSEEN = SYNTH / "unseen"  # held-out fonts, backgrounds and style mix: never seen in training
LLAVA = Path("data/llava")
MODEL_DIR = Path("models/recognizer")
LINE_FINDER_DIR = Path("models/line_finder")
PREDICTIONS = Path("data/predictions")
SUBTITLES = Path("data/subtitles")
SPEED = Path("metrics/speed")
