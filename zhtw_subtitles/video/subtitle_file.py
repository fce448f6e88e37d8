"""Subtitle files: cues written as UTF-8 .srt, .ass or .vtt with pysubs2, and reference files read back as cues."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pysubs2

from zhtw_subtitles.core.atomic import write_text
from zhtw_subtitles.video.cues import Cue

FORMATS = ("srt", "ass", "vtt")


def subtitles_text(cues: Sequence[Cue], format_: str) -> str:
    if format_ not in FORMATS:
        raise ValueError(f"unknown subtitle format {format_!r}: use one of {', '.join(FORMATS)}")
    subtitles = pysubs2.SSAFile()
    for cue in cues:
        # Times are rounded to the millisecond that .srt keeps; pysubs2 writes \N as the line break of each format.
        subtitles.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000),
                                          text=cue.text.replace("\n", r"\N")))
    return subtitles.to_string(format_)


def write_subtitles(cues: Sequence[Cue], path: Path, format_: str) -> None:
    """Write the file whole or not at all."""
    write_text(path, subtitles_text(cues, format_))


def read_cues(path: Path) -> list[Cue]:
    """The dialogue of a subtitle file (any format pysubs2 reads, UTF-8), without styling tags, in time order."""
    subtitles = pysubs2.load(str(path), encoding="utf-8")
    return sorted((Cue(event.start / 1000, event.end / 1000, event.plaintext) for event in subtitles
                   if not event.is_comment and event.plaintext.strip()), key=lambda cue: (cue.start, cue.end))
