"""Read burned-in zh-TW subtitles off a video into a subtitle file, or off a folder of frames into a
Kaggle-style submission.csv, with the project's trained reader; no Python needed."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.reading.band import DEFAULT_BAND

DEFAULT_MODEL = "models/recognizer"
# The same values as the transcribe.reading section of params.yaml (a test keeps them equal).
READING_DEFAULTS = {
    "sample_fps": 5.0,
    "reads_per_cue": 2,
    "read_interval_s": 0.5,
    "change_threshold": 0.3,
    "merge_gap_ms": 100,
    "min_confidence": 0.5,
    "batch_size": 8,
}
READ_BATCH_SIZE = 64  # params.yaml infer.batch_size, what the infer stage reads frames with
LINE_SEPARATOR = " "  # params.yaml infer.csv_line_separator: a two-line subtitle on one CSV line
READ_MIN_CONFIDENCE = 0.5  # params.yaml infer.min_confidence
DEFAULT_LINE_FINDER = "models/line_finder"
CLASSICAL = "classical"
READING_HELP = {
    "sample_fps": "frames per second whose subtitle band is compared with the previous one; a change is then "
                  "pinned to its exact frame. A subtitle shown for less than 1/SAMPLE_FPS s may be missed",
    "reads_per_cue": "how many frames of each subtitle are read and voted on",
    "read_interval_s": "seconds between two readings of the same subtitle",
    "change_threshold": "share of the glyph pixels that must differ between two frames to start a new subtitle",
    "merge_gap_ms": "neighbouring subtitles read alike (or one character apart) merge across a gap this long",
    "min_confidence": "subtitles read with a lower mean confidence (0-1) are dropped",
    "batch_size": "text lines per recogniser call",
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhtw-subtitles", description=__doc__.split(";")[0] + "; or use `read` on a folder of frames.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    transcribe = commands.add_parser(
        "transcribe", help="read the subtitles burned into a video into a timed subtitle file",
        description="Read the subtitles burned into VIDEO into a timed UTF-8 subtitle file: one cue per subtitle, "
                    "its start and end on the exact frames (presentation timestamps from the container), two-line "
                    "subtitles kept on two lines, Traditional characters and full-width punctuation as read.")
    transcribe.add_argument("video", type=Path, metavar="VIDEO", help="any video file FFmpeg (PyAV) decodes")
    transcribe.add_argument("-o", "--output", type=Path, metavar="OUT",
                            help="the subtitle file to write (default: VIDEO with the format's suffix)")
    transcribe.add_argument("--format", choices=("srt", "ass", "vtt"), default=None,
                            help="subtitle format (default: OUT's suffix if it is one of these, else srt)")
    _common_options(transcribe)
    for name, default in READING_DEFAULTS.items():
        transcribe.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default,
                                help=f"{READING_HELP[name]} (default: {default})")
    transcribe.add_argument("--quiet", action="store_true", help="no progress bar")
    transcribe.set_defaults(run=_transcribe)

    read = commands.add_parser(
        "read", help="read the subtitle of every frame in a folder into a submission.csv (id,text)",
        description="Read the subtitle of every .jpg/.png/.webp/.bmp frame in FOLDER into a CSV of id,text rows, "
                    "the id being the file name without its extension (the Kaggle competition's form).")
    read.add_argument("folder", type=Path, metavar="FOLDER", help="a folder of frames")
    read.add_argument("-o", "--output", type=Path, metavar="CSV", default=Path("submission.csv"),
                      help="the CSV to write (default: submission.csv)")
    _common_options(read)
    read.add_argument("--line-separator", default=LINE_SEPARATOR, metavar="SEP",
                      help="what joins the lines of a two-line subtitle in the CSV (default: a space)")
    read.add_argument("--batch-size", type=int, default=READ_BATCH_SIZE,
                      help=f"frames per recogniser call (default: {READ_BATCH_SIZE})")
    read.add_argument("--min-confidence", type=float, default=READ_MIN_CONFIDENCE, metavar="C",
                      help="a line read with a lower mean confidence (0-1) is dropped: a stray mark on a frame without "
                           f"a subtitle (default: {READ_MIN_CONFIDENCE}; 0 keeps every line)")
    read.set_defaults(run=_read)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="MODEL",
                        help="the reader: a folder written by the finetune stage, or ppocr_v6_small, the recogniser "
                             f"before fine-tuning (default: {DEFAULT_MODEL})")
    parser.add_argument("--crop", type=float, nargs=4, default=list(DEFAULT_BAND), metavar=("LEFT", "TOP", "RIGHT", "BOTTOM"),
                        help="the subtitle band as fractions of the frame (default: %(default)s, the bottom 35%%)")
    parser.add_argument("--whole-frame", action="store_true", help="look for the subtitle in the whole frame")
    parser.add_argument("--line-finder", default=None, metavar="FOLDER",
                        help=f"what boxes the subtitle lines: a folder written by the finetune_line_finder stage, or "
                             f"{CLASSICAL}, the locator without a neural net, which finds only white text in a dark "
                             f"outline (default: {DEFAULT_LINE_FINDER} when it exists, else {CLASSICAL})")
    parser.add_argument("--prompt", default=None,
                        help="VLM readers only: the instruction they were trained with (params.yaml json.prompts)")


# The commands import the readers (torch, onnxruntime) only when they run, so that --help answers at once.
def _transcribe(args: argparse.Namespace) -> int:
    from zhtw_subtitles.video.decode import Video, VideoError
    from zhtw_subtitles.video.subtitle_file import FORMATS, write_subtitles
    from zhtw_subtitles.video.transcriber import FINDER_THREADS, VideoReading, transcribe_video

    format_ = args.format or (args.output.suffix[1:].lower() if args.output and args.output.suffix[1:].lower() in FORMATS
                              else "srt")
    output = args.output or args.video.with_suffix(f".{format_}")
    config = VideoReading(**{name: getattr(args, name) for name in READING_DEFAULTS})
    if not args.video.is_file():
        raise ConfigError(f"{args.video}: no such file")
    _check_writable(output)
    try:  # a file that is no video fails here, before any model is loaded
        with Video(args.video):
            pass
    except VideoError as error:
        raise ConfigError(str(error)) from None
    model = _load_reader(args.model, args.prompt)
    finder = _load_line_finder(args.line_finder, FINDER_THREADS)
    started = time.perf_counter()
    try:
        transcript = transcribe_video(args.video, model, _crop(args), config, progress=not args.quiet, line_finder=finder)
    except VideoError as error:
        raise ConfigError(str(error)) from None
    seconds = time.perf_counter() - started
    write_subtitles(transcript.cues, output, format_)
    print(f"{len(transcript.cues)} subtitles -> {output} ({transcript.seconds:.1f} s of video in {seconds:.1f} s, "
          f"{transcript.seconds / seconds:.1f}x real time)", file=sys.stderr)
    return 0


def _read(args: argparse.Namespace) -> int:
    from zhtw_subtitles.dataset.frames import folder_frames
    from zhtw_subtitles.dataset.predictions_csv import one_line, write_csv_predictions
    from zhtw_subtitles.reading.inference import read_frames

    if not args.folder.is_dir():
        raise ConfigError(f"{args.folder} is not a folder")
    _check_writable(args.output)
    model = _load_reader(args.model, args.prompt)
    finder = _load_line_finder(args.line_finder)
    if not 0 <= args.min_confidence < 1:
        raise ConfigError(f"--min-confidence must lie in [0, 1), got {args.min_confidence}")
    ids, texts, unreadable = read_frames(model, folder_frames(args.folder), _crop(args), args.batch_size,
                                         line_finder=finder, min_confidence=args.min_confidence)
    if not ids:
        raise ConfigError(f"{args.folder} holds no .jpg/.png/.webp/.bmp frame")
    write_csv_predictions(args.output, ids, one_line(texts, args.line_separator))
    print(f"{len(ids)} frames -> {args.output} ({len(unreadable)} unreadable, predicted empty)", file=sys.stderr)
    return 0


def _crop(args: argparse.Namespace):
    from zhtw_subtitles.core.config import parse_crop

    return None if args.whole_frame else parse_crop(args.crop)


def _load_line_finder(folder: str | None, threads: int = 0):
    """The learned line finder, on `threads` threads (0: every core): `folder`, or the pipeline's when it has been
    built; None (the classical locator) when asked for, or otherwise said on stderr."""
    from zhtw_subtitles.models.registry import load_line_finder

    if folder == CLASSICAL:
        return None
    if folder is None:
        if not Path(DEFAULT_LINE_FINDER).is_dir():
            print(f"no {DEFAULT_LINE_FINDER} (run `dvc repro finetune_line_finder` or `dvc pull`): lines are found by the "
                  "classical locator, which misses subtitles without a dark outline", file=sys.stderr)
            return None
        folder = Path(DEFAULT_LINE_FINDER)
    return load_line_finder(folder, threads)


def _load_reader(name: str, prompt: str | None):
    from zhtw_subtitles.models.registry import BUILT_IN, ModelConfig, is_ctc_recognizer, load_for_inference
    from zhtw_subtitles.reading.readers import trained_reader

    if is_ctc_recognizer(name):
        return load_for_inference(name)
    if not Path(name).is_dir():
        raise ConfigError(f"--model {name}: not a folder nor a built-in reader ({', '.join(sorted(BUILT_IN))}); "
                          f"for {DEFAULT_MODEL} run `dvc repro finetune` or `dvc pull` first")
    if not prompt:
        raise ConfigError(f"--model {name} is a VLM: give --prompt, the instruction it was trained with")
    return trained_reader(Path(name), ModelConfig(base=name, trust_remote_code=False, max_pixels=None,
                                                  quantization=None), prompt)


def _check_writable(path: Path) -> None:
    """Fail before any work when `path` cannot be written (its folder is a file, or is not writable)."""
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder")
    blocking = next((parent for parent in (folder, *folder.parents) if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise ConfigError(f"cannot write {path}: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None


if __name__ == "__main__":
    sys.exit(main())
