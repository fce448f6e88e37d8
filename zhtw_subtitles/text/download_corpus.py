"""Download one of the study's Hugging Face corpora into `data/raw/<name>/`, in its published layout.

Usage: python -m zhtw_subtitles.text.download_corpus NAME [--corpus-dir data/raw] [--revision REV]
Then `dvc add data/raw/NAME` makes the files a content-addressed dependency of extract_sentences.
Needs internet; the pipeline itself never downloads.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.text.hub_corpora import HUB_CORPORA


def download(name: str, corpus_dir: Path, revision: str | None = None) -> Path:
    if name not in HUB_CORPORA:
        raise ConfigError(f"unknown hub corpus '{name}'; valid names: {', '.join(sorted(HUB_CORPORA))}")
    from huggingface_hub import snapshot_download

    corpus = HUB_CORPORA[name]
    folder = corpus.folder(corpus_dir)
    try:
        snapshot_download(corpus.repo_id, repo_type="dataset", revision=revision, allow_patterns=list(corpus.layout),
                          local_dir=folder)
    except Exception as error:  # offline, no such dataset or revision, gated, hub down: the same advice for all
        reason = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"
        raise ConfigError(
            f"could not download Hugging Face dataset {corpus.repo_id} for corpus '{name}' ({reason}). On a machine "
            f"with internet run `python -m zhtw_subtitles.text.download_corpus {name}`, then copy its {folder}/ here "
            f"(or `dvc add {folder}` and `dvc push` there, `dvc pull` here)"
        ) from None
    # huggingface_hub's bookkeeping holds timestamps: it would change the folder's hash on every download.
    shutil.rmtree(folder / ".cache", ignore_errors=True)
    corpus.files(corpus_dir)  # fails, naming what is missing, if the published layout has changed
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(HUB_CORPORA))
    parser.add_argument("--corpus-dir", type=Path, default=Path("data/raw"))
    parser.add_argument("--revision", help="a branch, tag or commit of the dataset repository (default: main)")
    args = parser.parse_args(argv)
    try:
        folder = download(args.name, args.corpus_dir, args.revision)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    print(f"downloaded {args.name} into {folder}/; now run: dvc add {folder}")


if __name__ == "__main__":
    main()
