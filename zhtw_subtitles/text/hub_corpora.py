"""The five Hugging Face corpora of the original study, read from `corpus_dir/<name>/` in their published layout.

Nothing here touches the network: `python -m zhtw_subtitles.text.download_corpus NAME` fetches the files once, and
`dvc add data/raw/NAME` makes them a content-addressed dependency of extract_sentences.

Layouts and columns, as checked against the hub (dataset cards and file listings):
- erhwenkuo/multiturn_chat_0.8m-chinese-zhtw, erhwenkuo/generated_chat_0.4m-chinese-zhtw and
  erhwenkuo/train_1m-chinese-zhtw: parquet shards `data/train-*.parquet` (listings seen: 2, 2 and 1 shards),
  tagged alpaca; zh-TW translations of BelleGroup's multiturn_chat_0.8M, generated_chat_0.4M and train_1M_CN.
  Their cards were not readable from here, so the alpaca columns `instruction`, `input`, `output` are as the
  study used them; the text read is `output`. In generated_chat, `output` is a dialogue, one `speaker：line` per line.
- erhwenkuo/dolly-15k-chinese-zhtw: `data/train-*.parquet`, card features `instruction`, `context`, `response`
  (15,011 rows, CC BY-SA 3.0); the text read is `response`.
- p208p2002/zhtw-sentence-error-correction: `alpha/out.jsonl`, `beta/out.jsonl`, `gamma/out.jsonl` (listing seen);
  records `{"type", "correct", "incorrect"}` as the study read them; the text read is `correct`.
Columns are selected by name, so a file whose columns differ fails with the names it does have.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.text.subtitles import dialogue_lines
from zhtw_subtitles.text.text_files import column_texts


@dataclass(frozen=True)
class HubCorpus:
    name: str
    repo_id: str  # Hugging Face dataset repository
    layout: tuple[str, ...]  # the files it needs, as published: exact paths or glob patterns under the repo root
    text_column: str
    zh_tw: bool = True  # published in Taiwan Traditional already
    dialogue: bool = False  # the text is `speaker：line` lines, read without the speaker

    def folder(self, corpus_dir: Path) -> Path:
        return Path(corpus_dir) / self.name

    def files(self, corpus_dir: Path) -> list[Path]:
        """The corpus files present; an error listing exactly what is missing and how to get it otherwise."""
        folder = self.folder(corpus_dir)
        found, missing = [], []
        for pattern in self.layout:
            matches = sorted(folder.glob(pattern))
            if matches:
                found.extend(matches)
            else:
                missing.append(pattern)
        if missing:
            raise ConfigError(
                f"corpus '{self.name}' reads Hugging Face dataset {self.repo_id} from {folder}/, but nothing is at "
                f"{', '.join(f'{folder}/{p}' for p in missing)}. "
                f"With internet: `python -m zhtw_subtitles.text.download_corpus {self.name}` then `dvc add {folder}`. "
                f"Offline: copy the dataset's {', '.join(self.layout)} into {folder}/ with the same relative paths."
            )
        return found

    def texts(self, files: list[Path]) -> Iterator[str]:
        hint = (f"; is this {self.repo_id}'s layout? Re-download with "
                f"`python -m zhtw_subtitles.text.download_corpus {self.name}`")
        texts = chain.from_iterable(column_texts(path, self.text_column, hint=hint) for path in files)
        return chain.from_iterable(map(dialogue_lines, texts)) if self.dialogue else texts


HUB_CORPORA = {corpus.name: corpus for corpus in (
    HubCorpus("multiturn_chat", "erhwenkuo/multiturn_chat_0.8m-chinese-zhtw", ("data/train-*.parquet",), "output"),
    HubCorpus("zhtw_error_correction", "p208p2002/zhtw-sentence-error-correction",
              ("alpha/out.jsonl", "beta/out.jsonl", "gamma/out.jsonl"), "correct"),
    HubCorpus("generated_chat", "erhwenkuo/generated_chat_0.4m-chinese-zhtw", ("data/train-*.parquet",), "output",
              dialogue=True),
    HubCorpus("train_1m", "erhwenkuo/train_1m-chinese-zhtw", ("data/train-*.parquet",), "output"),
    HubCorpus("dolly_15k", "erhwenkuo/dolly-15k-chinese-zhtw", ("data/train-*.parquet",), "response"),
)}
