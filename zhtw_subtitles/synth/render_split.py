"""Renders a split (train, test or unseen) of synthetic frames in parallel into tar shards, deterministically."""
from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.dataset.shards import ShardWriter
from zhtw_subtitles.synth.backgrounds import Background, background_source
from zhtw_subtitles.synth.fonts import FontFace
from zhtw_subtitles.synth.render import RenderConfig, render_frame

SPLIT_STREAMS = {"train": 0, "test": 1, "unseen": 2}  # each split draws from its own random stream

_worker_state: dict = {}


def assign_sentences(sentences: list[str], count: int, faces: list[FontFace],
                     char_coverage: int = 0) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    """The first `count` drawable sentences (cycling if there are fewer) with the faces that cover them; with
    `char_coverage`, first in the order of `covering_first`.

    A sentence no face covers completely is skipped, never drawn with a missing glyph; the second value
    counts those skips.
    """
    usable, skipped = [], 0
    for sentence in sentences:
        covering = tuple(i for i, face in enumerate(faces) if face.covers(sentence))
        if covering:
            usable.append((sentence, covering))
            if len(usable) == count and not char_coverage:
                break
        else:
            skipped += 1
    if not usable:
        raise ConfigError(f"none of the {len(sentences)} sentences can be drawn with the fonts {[f.name for f in faces]}")
    if char_coverage:
        faces_of = dict(usable)
        ordered = covering_first([sentence for sentence, _ in usable], char_coverage)
        usable = [(sentence, faces_of[sentence]) for sentence in ordered[:count]]
    return [usable[i % len(usable)] for i in range(count)], skipped


def covering_first(sentences: list[str], min_count: int) -> list[str]:
    """`sentences` with those that bring a character drawn fewer than `min_count` times by the ones taken before
    them first, each group in its own order: the frames a split can afford then hold the corpus's rare characters,
    which a recogniser otherwise meets only in the test lines."""
    drawn: Counter = Counter()
    first, rest = [], []
    for sentence in sentences:
        if any(drawn[character] < min_count for character in sentence):
            first.append(sentence)
            drawn.update(sentence)
        else:
            rest.append(sentence)
    return first + rest


def _init_worker(faces, backgrounds, config, seed, stream) -> None:
    cv2.setNumThreads(1)  # parallelism comes from the worker processes
    _worker_state.update(faces=faces, backgrounds=backgrounds, config=config, seed=seed, stream=stream)


def _render_task(task: tuple[int, str, tuple[int, ...]]) -> tuple[bytes, dict]:
    index, text, covering = task
    state = _worker_state
    rng = np.random.default_rng([state["seed"], state["stream"], index])
    faces = [state["faces"][i] for i in covering]
    return render_frame(text, faces, state["backgrounds"], state["config"], rng)


def resolve_workers(requested: int) -> int:
    return requested if requested > 0 else len(os.sched_getaffinity(0))


def render_split(split: str, sentences: list[str], count: int, faces: list[FontFace], backgrounds: list[Background],
                 config: RenderConfig, seed: int, out_dir: Path, char_coverage: int = 0) -> dict:
    """Write `count` frames into `out_dir` as shards plus a manifest; return the split's statistics."""
    tasks, skipped = assign_sentences(sentences, count, faces, char_coverage)
    indexed = [(i, text, covering) for i, (text, covering) in enumerate(tasks)]
    init_args = (faces, backgrounds, config, seed, SPLIT_STREAMS[split])
    workers = resolve_workers(config.workers)
    drawn = DrawCounts()
    writer = ShardWriter(out_dir, config.shard_size)
    pool = multiprocessing.get_context("fork").Pool(workers, _init_worker, init_args) if workers > 1 else None
    try:
        if pool is None:
            _init_worker(*init_args)
            results = map(_render_task, indexed)
        else:
            results = pool.imap(_render_task, indexed, chunksize=8)
        for (index, _, _), (jpeg, meta) in tqdm(zip(indexed, results), total=count, desc=f"render {split}", unit="img"):
            writer.write(f"{split}-{index:06d}", jpeg, meta)
            drawn.add(meta)
    finally:
        writer.close()
        if pool is not None:
            pool.terminate()
    return {
        "images": count,
        "distinct_sentences": len({text for text, _ in tasks}),
        "distinct_characters": len(set("".join(text for text, _ in tasks)) - {"\n", " "}),
        "sentences_skipped_missing_glyph": skipped,
        "shards": -(-count // config.shard_size),
        **drawn.as_dict(),
    }


class DrawCounts:
    """How often each font, frame size, style, layout and background source was drawn in a split."""

    def __init__(self) -> None:
        self.counts = {key: Counter() for key in ("fonts", "frame_sizes", "styles", "layouts", "background_sources")}

    def add(self, meta: dict) -> None:
        if meta["font"]:  # a frame without a subtitle has no font and no style
            self.counts["fonts"][meta["font"]] += 1
            self.counts["styles"][meta.get("style", "outline")] += 1
        self.counts["frame_sizes"][f"{meta['width']}x{meta['height']}"] += 1
        layouts = {"empty": not meta["text"], "two_line": "\n" in meta["text"], "letterbox": "letterbox_bar" in meta,
                   f"aspect {meta.get('aspect', '16:9')}": True}
        self.counts["layouts"].update(name for name, drawn in layouts.items() if drawn)
        self.counts["background_sources"][background_source(meta["background"])] += 1

    def as_dict(self) -> dict:
        return {key: dict(sorted(counter.items())) for key, counter in self.counts.items()}
