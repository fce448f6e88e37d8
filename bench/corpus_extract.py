"""lines/s of extract_sentences' corpus extraction against a naive pandas iterrows loop, in one run, on one core.

Input: 1,000,000 synthetic subtitle-like lines in the layout of the study's hub corpora (a parquet shard with an
`output` column under data/train-*.parquet), made of 1 to 3 phrases of the embedded corpus (Tatoeba's part
is Simplified), sometimes behind a speaker label or a "- ". Both sides read the parquet file, run OpenCC s2twp,
split on the study's punctuation, clean, filter and de-duplicate. The naive loop is what the study's script
does: one pandas row and one OpenCC call at a time. It is so slow that it runs on the first --naive-lines rows
only; lines/s is a rate, and the naive loop's does not depend on corpus size. Each side runs --repeats times and
its fastest run counts, as timeit advises: slower runs measure the other jobs on the machine, not the code.
Usage: python bench/corpus_extract.py [--lines 1000000] [--naive-lines 100000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import tempfile
import time
from pathlib import Path

import opencc
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from results import write_results

from zhtw_subtitles.core.config import default_config, default_params
from zhtw_subtitles.text.corpora import CorpusSettings, open_corpus, read_corpus
from zhtw_subtitles.text.extraction import extract_lines
from zhtw_subtitles.text.sentences import SentenceConfig

TARGET_LINES_PER_S = 200_000


def synthetic_lines(count: int, seed: int = 0) -> list[str]:
    embedded = read_corpus("embedded", CorpusSettings.from_params(default_params()))
    phrases = sorted({p for text in embedded for p in re.split(r"[，。！？、\n]", text) if p.strip()})
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        body = "".join(rng.choice(phrases) + rng.choice("，，、。！？") for _ in range(rng.choice((1, 1, 2, 2, 3))))
        lines.append(rng.choice(("", "", "", "", "- ", "小明：")) + body)
    return lines


def naive_study_loop(parquet: Path, rows: int) -> int:
    converter = opencc.OpenCC("s2twp")
    kept: dict[str, None] = {}
    for _, row in pd.read_parquet(parquet).head(rows).iterrows():
        for piece in re.split(r"[，。！？、\n]", converter.convert(row["output"])):
            piece = re.sub(r"^(- |\d+\.)", "", piece.strip())
            if 2 <= len(piece) < 18 and "：" not in piece:
                kept[piece] = None
    return len(kept)


def fastest(repeats: int, run):
    """Seconds of the fastest of `repeats` runs, and what the last run returned."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--naive-lines", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    lines = synthetic_lines(args.lines)
    # OpenCC on, as for a corpus that is not zh-TW already
    config = default_config(SentenceConfig, "sentences", convert_zh_tw=True)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp, "multiturn_chat/data/train-00000-of-00001.parquet")
        parquet.parent.mkdir(parents=True)
        pq.write_table(pa.table({"instruction": [""] * len(lines), "output": lines}), parquet)
        del lines
        sources = open_corpus("multiturn_chat", CorpusSettings.from_params({**default_params(), "corpus_dir": tmp}))
        ours_s, (kept, counts) = fastest(args.repeats, lambda: extract_lines(sources, config, seed=0))
        naive_rows = min(args.naive_lines, args.lines)
        naive_s, naive_kept = fastest(args.repeats, lambda: naive_study_loop(parquet, naive_rows))
    ours, naive = args.lines / ours_s, naive_rows / naive_s
    print(f"input lines: {args.lines:,} ({counts['pieces']:,} pieces), cores used: 1, fastest of {args.repeats} runs, load average: {os.getloadavg()[0]:.1f}")
    print(f"naive pandas iterrows loop: {naive:9,.0f} lines/s  {naive_s:6.1f} s for {naive_rows:,} lines, {naive_kept:,} kept")
    print(f"extract_sentences:          {ours:9,.0f} lines/s  {ours_s:6.1f} s for {args.lines:,} lines, {len(kept):,} kept")
    print(f"speed-up: {ours / naive:.1f}x; target >= {TARGET_LINES_PER_S:,} lines/s: {'met' if ours >= TARGET_LINES_PER_S else 'NOT met'}")
    write_results("corpus_extract", {
        "input_lines": args.lines, "pieces": counts["pieces"], "cores_used": 1, "runs_each": args.repeats,
        "naive_lines_per_s": round(naive), "naive_input_lines": naive_rows,
        "extract_sentences_lines_per_s": round(ours), "lines_kept": len(kept),
        "speed_up": round(ours / naive, 1), "target_lines_per_s": TARGET_LINES_PER_S,
    })


if __name__ == "__main__":
    main()
