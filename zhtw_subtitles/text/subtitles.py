"""Subtitle files to the lines shown on screen: timing, styling tags and speaker labels removed."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError

FORMATS = {".srt": "srt", ".ass": "ass", ".ssa": "ssa", ".vtt": "vtt"}
# An ASS vector drawing ({\p1}m 0 0 l ...) is shapes, not text.
DRAWING = re.compile(r"\{[^}]*\\p[1-9]")
LEFTOVER_TAG = re.compile(r"</?[a-zA-Z][^>]*>|\{\\[^}]*\}")
# "小明：" or "A:" at the start of a dialogue line; the line after it is what is said.
SPEAKER_LABEL = re.compile(r"^\s*[^：:\n]{1,12}[：:]\s*")


def subtitle_lines(text: str, path: Path) -> Iterator[str]:
    """One string per line of each cue as it appears on screen; comments and drawings are skipped."""
    import pysubs2

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        events = pysubs2.SSAFile.from_string(text, format_=FORMATS[Path(path).suffix.lower()])
    except (pysubs2.Pysubs2Error, ValueError, KeyError) as error:
        raise ConfigError(f"{path} is not a readable subtitle file ({error})") from None
    for event in events:
        if event.is_comment or DRAWING.search(event.text):
            continue
        for line in LEFTOVER_TAG.sub("", event.plaintext).split("\n"):
            if line.strip():
                yield line.strip()


def dialogue_lines(text: str) -> Iterator[str]:
    """Each line of a dialogue without its leading speaker label (full- or half-width colon)."""
    for line in text.splitlines():
        yield SPEAKER_LABEL.sub("", line, count=1)
