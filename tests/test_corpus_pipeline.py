"""Corpus switching under the real `dvc` CLI, on fixture corpora in a temporary copy of the repo."""
from __future__ import annotations

import json

import pytest
from corpus_fixtures import SRT, write_parquet

from zhtw_subtitles.testing.dvc_repo import DvcRepo

pytestmark = pytest.mark.slow

SUBTITLE_CUES = [f"這是第{i}集第{j}句" for i in range(1, 4) for j in range(1, 21)]
DOLLY_ROWS = [{"instruction": f"問題{i}", "context": "", "response": f"第{i}個回答很有用，謝謝你的幫忙。"} for i in range(20)]


def srt(lines: list[str]) -> str:
    return "".join(f"{n}\n00:00:{n:02d},000 --> 00:00:{n:02d},900\n{line}\n\n" for n, line in enumerate(lines, 1))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = DvcRepo.create(tmp_path_factory.mktemp("corpora") / "repo", {"sentences": {"test_fraction": 0.2}})
    files = repo.root / "data/raw/files"
    files.mkdir(parents=True)
    (files / "ep01.srt").write_text(srt(SUBTITLE_CUES), encoding="utf-8")
    (files / "ep02.srt").write_bytes(SRT.encode("big5"))
    write_parquet(repo.root / "data/raw/dolly_15k/data/train-00000-of-00001.parquet", DOLLY_ROWS)
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-qm", "fixture corpora")
    return repo


def test_exp_run_switches_to_the_files_corpus_and_metrics_show_lists_it(repo):
    output = repo.run("dvc", "exp", "run", "-S", "corpus=files", "extract_sentences").stdout
    assert "Running stage 'extract_sentences'" in output
    train = (repo.root / "data/sentences/train.txt").read_text(encoding="utf-8").splitlines()
    test = (repo.root / "data/sentences/test.txt").read_text(encoding="utf-8").splitlines()
    assert train and test and not set(train) & set(test)
    assert set(SUBTITLE_CUES) | {"你聽到了嗎", "我們走吧", "快一點", "等等我", "好啦"} == set(train) | set(test)
    shown = repo.run("dvc", "metrics", "show", "--json").stdout
    metrics = json.loads(shown)
    values = next(iter(metrics.values()))["data"]["metrics/sentences.json"]["data"]
    assert values["corpus"] == "files" and values["lines_kept"] == 65 and values["dropped_speaker_label"] == 0
    assert "metrics/sentences.json" in repo.run("dvc", "metrics", "show").stdout


def test_exp_run_mixes_a_hub_corpus_with_subtitles(repo):
    # Hydra's syntax, as in the README: ~ removes a source, + adds one.
    repo.run("dvc", "exp", "run", "-S", "corpus=mix", "-S", "~corpus_mix.multiturn_chat", "-S", "+corpus_mix.dolly_15k=0.4",
             "-S", "corpus_mix.files=0.6", "extract_sentences")
    metrics = json.loads((repo.root / "metrics/sentences.json").read_text(encoding="utf-8"))
    assert metrics["corpus"] == "mix"
    # 20 answers, the thanks and 3 space-joined lines; 24 / 0.4 * 0.6 = 36 subtitle lines
    assert metrics["sources"]["dolly_15k"] == {"weight": 0.4, "lines_distinct": 24, "lines_mixed": 24}
    assert metrics["sources"]["files"] == {"weight": 0.6, "lines_distinct": 65, "lines_mixed": 36}
    assert metrics["lines_kept"] == metrics["train_lines"] + metrics["test_lines"] == 60
    assert "corpus_mix.dolly_15k" in repo.run("dvc", "params", "diff").stdout


def test_exp_run_with_an_unknown_corpus_fails_listing_the_names(repo):
    result = repo.run("dvc", "exp", "run", "-S", "corpus=wikipedia", "extract_sentences", check=False)
    assert result.returncode != 0
    assert "unknown corpus 'wikipedia'; valid names: dolly_15k, embedded, files" in result.stdout + result.stderr


def test_missing_hub_download_says_which_files_to_place_where(repo):
    result = repo.run("dvc", "exp", "run", "-S", "corpus=train_1m", "extract_sentences", check=False)
    assert result.returncode != 0
    assert ("nothing is at data/raw/train_1m/data/train-*.parquet. With internet: "
            "`python -m zhtw_subtitles.text.download_corpus train_1m` then `dvc add data/raw/train_1m`") in result.stdout + result.stderr
