"""The `files` corpus: your own subtitle and text files (`corpus_files` in params.yaml)."""
from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError, require
from zhtw_subtitles.text.subtitles import FORMATS, dialogue_lines, subtitle_lines
from zhtw_subtitles.text.text_files import TABLE_SUFFIXES, column_texts, decode

SUFFIXES = (*FORMATS, ".txt", *TABLE_SUFFIXES)


@dataclass(frozen=True)
class FileCorpusConfig:
    """The `corpus_files` params."""
    paths: tuple[str, ...]  # files, folders (searched recursively) or glob patterns
    text_column: str  # the column holding the text in .jsonl, .csv and .parquet files
    encoding: str  # auto: BOM, UTF-8, else Big5/CP950, Big5-HKSCS or GB18030; or a Python codec name
    zh_tw: bool  # the files are Taiwan Traditional already, so OpenCC leaves them as they are
    dialogue: bool  # a line may start with a speaker label ("小明：") that is cut off

    def __post_init__(self) -> None:
        require(isinstance(self.paths, tuple) and bool(self.paths), "corpus_files.paths must be a non-empty list of paths")


def find_files(config: FileCorpusConfig) -> list[Path]:
    files: list[Path] = []
    for entry in config.paths:
        path = Path(entry)
        if glob.has_magic(entry):
            matches = sorted(Path(p) for p in glob.glob(entry, recursive=True) if Path(p).suffix.lower() in SUFFIXES)
            require(bool(matches), f"corpus_files.paths: '{entry}' matches no {', '.join(SUFFIXES)} file")
        elif path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            require(path.suffix.lower() in SUFFIXES, f"corpus_files.paths: {path} is not one of {', '.join(SUFFIXES)}")
            matches = [path]
        else:
            raise ConfigError(f"corpus_files.paths: {path} does not exist; put your subtitle files there or list "
                              "their paths, e.g. dvc exp run -S 'corpus_files.paths=[subs/]'")
        files.extend(matches)
    require(bool(files), f"corpus_files.paths {list(config.paths)} holds no {', '.join(SUFFIXES)} file")
    return files


def file_texts(files: list[Path], config: FileCorpusConfig) -> Iterator[str]:
    for path in files:
        for text in _texts(path, config):
            if config.dialogue:
                yield from dialogue_lines(text)
            else:
                yield text


def _texts(path: Path, config: FileCorpusConfig) -> Iterator[str]:
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return column_texts(path, config.text_column, config.encoding, hint="; set corpus_files.text_column")
    text = decode(path.read_bytes(), path, config.encoding)
    return subtitle_lines(text, path) if suffix in FORMATS else iter(text.splitlines())
