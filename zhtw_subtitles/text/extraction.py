"""Subtitle lines from a corpus of one or several weighted sources, with the counts behind them."""
from __future__ import annotations

import math
from collections import Counter

from zhtw_subtitles.core.hashing import unit_hash
from zhtw_subtitles.text.corpora import Source
from zhtw_subtitles.text.sentences import SentenceConfig, SentenceExtractor


def extract_lines(sources: list[tuple[Source, float]], config: SentenceConfig, seed: int) -> tuple[list[str], dict]:
    """Distinct lines and metrics. Each source is cut on its own (OpenCC runs on those not already zh-TW);
    several sources are then mixed in the proportions of their weights."""
    counts: Counter[str] = Counter()
    per_source = []
    for source, weight in sources:
        extractor = SentenceExtractor(config, seed, convert=config.converts(source.zh_tw))
        per_source.append((source.name, extractor.lines(source.texts()), weight))
        counts.update(extractor.counts)
    if len(per_source) == 1:
        return per_source[0][1], dict(sorted(counts.items()))
    lines, mixed = mix_lines(per_source, seed)
    counts["dropped_duplicate"] += sum(len(source_lines) for _, source_lines, _ in per_source) - sum(
        source["lines_distinct"] for source in mixed.values())
    counts["lines_kept"] = len(lines)
    return lines, {**dict(sorted(counts.items())), "sources": mixed}


def mix_lines(per_source: list[tuple[str, list[str], float]], seed: int) -> tuple[list[str], dict]:
    """The largest mix whose lines come from the sources in proportion to their weights.

    A line already given by an earlier source is not counted again. Which lines of a larger source make
    the cut is decided by a seeded hash of the line, so the mix is the same on every run for one seed.
    """
    seen: set[str] = set()
    distinct = []
    for name, lines, weight in per_source:
        own = [line for line in lines if line not in seen]
        seen.update(own)
        distinct.append((name, own, weight))
    total_weight = sum(weight for _, _, weight in distinct)
    size = min(len(own) * total_weight / weight for _, own, weight in distinct)
    mixed, stats = [], {}
    for name, own, weight in distinct:
        take = min(len(own), math.floor(size * weight / total_weight + 1e-9))
        chosen = sorted(own, key=lambda line: unit_hash(str(seed), "mix", name, line))[:take]
        mixed.extend(chosen)
        stats[name] = {"weight": weight, "lines_distinct": len(own), "lines_mixed": take}
    return mixed, stats
