"""Cuts raw text into subtitle lines, the way the study did, and splits them into train and test."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import islice

import numpy as np

from zhtw_subtitles.core.config import require
from zhtw_subtitles.core.hashing import unit_hash
from zhtw_subtitles.text.piece_index import PieceIndex


@dataclass(frozen=True)
class SentenceConfig:
    """The `sentences` params."""
    min_len: int
    max_len: int
    split_chars: str
    # Half-width , ! ? ; are read as their full-width forms.
    fullwidth_punctuation: bool
    strip_list_markers: bool  # the study: cut a leading "- " or numbered-list prefix such as "1."
    drop_speaker_labels: bool  # the study: drop pieces holding a colon, such as "小明：你好"
    strip_brackets: bool  # trim 「」『』“”"'（）() around a piece
    # Drop a piece holding anything other than Han characters, digits, spaces and subtitle punctuation.
    chinese_only: bool
    # Taiwanese caption style: neighbouring phrases kept on one line, separated by a space, not a comma.
    space_join_prob: float
    opencc_config: str | None  # Simplified -> Taiwan characters and vocabulary; null keeps the text
    convert_zh_tw: bool  # also run OpenCC on corpora published in Taiwan Traditional
    test_fraction: float

    def __post_init__(self) -> None:
        require(1 <= self.min_len <= self.max_len, f"need 1 <= sentences.min_len <= sentences.max_len, got {self.min_len}, {self.max_len}")
        require(0.0 < self.test_fraction < 1.0, f"sentences.test_fraction must lie in (0, 1), got {self.test_fraction}")
        require(0.0 <= self.space_join_prob <= 1.0, f"sentences.space_join_prob must lie in [0, 1], got {self.space_join_prob}")
        require(bool(self.split_chars), "sentences.split_chars must not be empty")

    def converts(self, zh_tw: bool) -> bool:
        """Whether OpenCC runs on a corpus; `zh_tw` says it is already Taiwan Traditional."""
        return self.opencc_config is not None and (self.convert_zh_tw or not zh_tw)

    @cached_property
    def _phrase_ends(self) -> str:
        ends = set(self.split_chars) | {"\n", "\r", TEXT_END}
        if self.fullwidth_punctuation:
            ends |= {FULL_TO_HALF[c] for c in self.split_chars if c in FULL_TO_HALF}
        return "".join(sorted(ends))

    @cached_property
    def _end_kind_of_code(self) -> np.ndarray:
        """By code point: NOT_AN_END, or what a phrase end is (JOINER_KIND, TEXT_END_KIND, 0 for a full stop).
        The last entry stands for every code point above the highest end."""
        kinds = np.full(max(map(ord, self._phrase_ends)) + 2, NOT_AN_END, np.int8)
        for end in self._phrase_ends:
            kinds[ord(end)] = TEXT_END_KIND if end == TEXT_END else JOINER_KIND if end in PHRASE_JOINERS else 0
        return kinds


FULL_WIDTH = {",": "，", "!": "！", "?": "？", ";": "；"}
FULL_TO_HALF = {full: half for half, full in FULL_WIDTH.items()}
BRACKETS = "「」『』“”‘’\"'（）()《》〈〉[]【】 \u3000"
ALLOWED_NON_HAN = set("0123456789０１２３４５６７８９ ·…—～；：「」『』《》〈〉")
# Pieces that end inside a sentence, so that the next piece may follow on the same caption line.
PHRASE_JOINERS = "，、,"
JOINER_KIND, TEXT_END_KIND, NOT_AN_END = 1, 2, -1
LIST_MARKER = re.compile(r"^(?:[-‐–—•・*]+\s*|[(（]?[0-9０-９]{1,3}[.．)）](?![0-9０-９])\s*)")
# Texts are cut in batches joined by this character; it ends a text the way a newline ends a line.
TEXT_END = "\x1e"
BATCH_TEXTS = 100_000


# Names of the rules that drop a piece, as counted in metrics/sentences.json (dropped_<rule>).
RULES = ("speaker_label", "too_short", "too_long", "not_chinese", "no_han", "duplicate")


def is_han(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


@cache
def han_pattern() -> str:
    """A regex character class of every character `is_han` accepts (scanned once; 60 ms)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x3400, 0x32400):  # from CJK Extension A to past Extension H
        if is_han(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in ranges) + "]"


@cache
def _patterns(chinese_only: bool) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    han = han_pattern()
    foreign = re.compile(f"[^{han[1:-1]}{re.escape(''.join(sorted(ALLOWED_NON_HAN)))}]") if chinese_only else None
    return re.compile(han), foreign


def clean_piece(piece: str, config: SentenceConfig) -> str:
    piece = piece.strip()
    if config.strip_list_markers:
        piece = LIST_MARKER.sub("", piece, count=1)
    if config.strip_brackets:
        piece = piece.strip(BRACKETS)
    return piece


def rejection(piece: str, config: SentenceConfig) -> str | None:
    """Name of the first rule that drops `piece`, or None when it is kept."""
    if config.drop_speaker_labels and ("：" in piece or ":" in piece):
        return "speaker_label"
    if len(piece) < config.min_len:
        return "too_short"
    if len(piece) > config.max_len:
        return "too_long"
    han, foreign = _patterns(config.chinese_only)
    if foreign is not None and foreign.search(piece):
        return "not_chinese"
    if not han.search(piece):
        return "no_han"
    return None


def _digest(prefix: hashlib.blake2b, text: str) -> int:
    """unit_hash(*parts, text) * 2**64, where `prefix` has hashed the parts and their separators."""
    digest = prefix.copy()
    digest.update(text.encode("utf-8"))
    return int.from_bytes(digest.digest(), "big")


def batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class SentenceExtractor:
    """Streams texts through the cutting rules; counts what each rule dropped.

    Speed (bench/corpus_extract.py): texts are cut in large batches, on the batch's code points in numpy;
    pieces get ids by hashing (piece_index.py), so only a distinct piece becomes a Python string. Each distinct
    piece is converted by OpenCC and judged by the rules once, since corpora repeat their short phrases. The
    per-piece work left, looking up the verdicts, counting, finding which neighbours may share a caption line
    and dropping repeated lines, runs in numpy over piece and line ids rather than in a Python loop.
    """

    def __init__(self, config: SentenceConfig, seed: int, convert: bool = True):
        self.config = config
        self.seed = seed
        # Every rule is listed, so that `dvc metrics diff` shows a rule going from 0 to n.
        self.counts: Counter[str] = Counter(dict.fromkeys([*(f"dropped_{rule}" for rule in RULES), "space_joined"], 0))
        # Raw pieces and caption lines get ids in first-seen order. The tables hold, by piece id, the id of
        # its cleaned form as a line, that form's length (0 when nothing is left) and the rule that drops it
        # (0: none, i: RULES[i - 1]).
        self._pieces = PieceIndex()
        self._line_ids = Interner()
        # The tables and `_emitted` grow by doubling: the first `_judged` entries of a table are filled.
        self._judged = 0
        self._line_table = np.empty(0, np.int64)
        self._length_table = np.empty(0, np.int64)
        self._rule_table = np.empty(0, np.int64)
        self._emitted = np.empty(0, bool)  # by line id: already among the lines
        self._converter = None
        if convert and config.opencc_config:
            import opencc

            self._converter = opencc.OpenCC(config.opencc_config)

    def lines(self, texts: Iterable[str]) -> list[str]:
        """Distinct subtitle lines in first-seen order."""
        kept = []
        for batch in batches(texts, BATCH_TEXTS):
            self.counts["texts_read"] += len(batch)
            ids, end_kinds = self._cut(TEXT_END.join(batch) + TEXT_END)
            self._judge_new(self._pieces.take_new())
            emitted = self._caption_lines(ids, end_kinds)
            fresh = self._first_emissions(emitted)
            kept.append(fresh)
            self.counts["dropped_duplicate"] += len(emitted) - len(fresh)
        order = np.concatenate(kept).tolist() if kept else []
        self.counts["lines_kept"] = len(order)
        return [self._line_ids.texts[line] for line in order]

    def _first_emissions(self, emitted: np.ndarray) -> np.ndarray:
        """The line ids of `emitted` not emitted before, once each, in the order they first appear."""
        self._emitted = with_room(self._emitted, len(self._line_ids.texts))
        distinct, first = np.unique(emitted, return_index=True)
        fresh = ~self._emitted[distinct]
        lines = distinct[fresh][np.argsort(first[fresh], kind="stable")]
        self._emitted[lines] = True
        return lines

    def _cut(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The ids of the pieces between phrase ends, and what ends each: JOINER_KIND, TEXT_END_KIND or 0 (a
        full stop). The text ends in TEXT_END, so nothing follows the last end."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        kinds = self.config._end_kind_of_code[np.minimum(codes, len(self.config._end_kind_of_code) - 1)]
        ends = np.flatnonzero(kinds != NOT_AN_END)
        starts = np.concatenate([[0], ends[:-1] + 1])
        return self._pieces.ids(text, codes, starts, ends), kinds[ends]

    def _caption_lines(self, ids: np.ndarray, end_kinds: np.ndarray) -> np.ndarray:
        """The line ids of the kept pieces in order, where a piece may follow the one before it on one line,
        after a space.

        Two kept pieces may share a line when the first ends in a comma or 、 and nothing but empty pieces
        lies between them within one text; then a seeded hash of the joined line decides, with probability
        space_join_prob, provided it fits max_len. A piece that joined the one before it cannot take the next.
        """
        rules = self._rule_table[ids]
        lengths = self._length_table[ids]
        kept = (rules == 0) & (lengths > 0)
        dropped = rules > 0
        for rule, count in enumerate(np.bincount(rules, minlength=len(RULES) + 1)[1:]):
            self.counts[f"dropped_{RULES[rule]}"] += int(count)
        self.counts["pieces"] += int(np.count_nonzero(kept | dropped))
        lines = self._line_table[ids[kept]]
        if self.config.space_join_prob == 0 or not len(lines):
            return lines
        # The pieces that decide whether a phrase is pending: kept or dropped ones, and the ends of texts.
        steps = np.flatnonzero(kept | dropped | (end_kinds == TEXT_END_KIND))
        kept_steps = kept[steps]
        fits = lengths[steps[1:]] + 1 + lengths[steps[:-1]] <= self.config.max_len
        pending = kept_steps[:-1] & (end_kinds[steps[:-1]] == JOINER_KIND)
        candidates = np.flatnonzero(kept_steps[1:] & pending & fits) + 1
        firsts, seconds = steps[candidates - 1], steps[candidates]
        positions = (np.cumsum(kept) - 1)[seconds].tolist()
        texts = self._line_ids.texts
        prefix = hashlib.blake2b(f"{self.seed}\x1fjoin\x1f".encode(), digest_size=8)
        below = self.config.space_join_prob * 2**64  # unit_hash(seed, "join", line) < space_join_prob
        joined_step = -2
        for step, first, second, position in zip(candidates.tolist(), self._line_table[ids[firsts]].tolist(),
                                                 self._line_table[ids[seconds]].tolist(), positions):
            if step == joined_step + 1:
                continue  # the piece before joined its own predecessor: no phrase is pending
            joined = f"{texts[first]} {texts[second]}"
            if _digest(prefix, joined) < below:
                lines[position] = self._line_ids[joined]
                joined_step = step
                self.counts["space_joined"] += 1
        return lines

    def _judge_new(self, new: list[str]) -> None:
        """Clean and judge pieces that just got ids; OpenCC converts them all in one call."""
        if not new:
            return
        # Pieces never hold a newline, so one joined call converts them all and splits back exactly.
        text = "\n".join(new)
        if self._converter is not None:
            text = self._converter.convert(text)
        if self.config.fullwidth_punctuation:
            for half, full in FULL_WIDTH.items():
                text = text.replace(half, full)
        converted = text.split("\n")
        if len(converted) != len(new):
            raise RuntimeError(f"OpenCC {self.config.opencc_config} changed the number of lines it was given")
        config = self.config
        cleaned = [clean_piece(piece, config) for piece in converted]
        rules = [RULES.index(rule) + 1 if piece and (rule := rejection(piece, config)) else 0 for piece in cleaned]
        start, self._judged = self._judged, self._judged + len(cleaned)
        self._line_table = with_room(self._line_table, self._judged)
        self._length_table = with_room(self._length_table, self._judged)
        self._rule_table = with_room(self._rule_table, self._judged)
        self._line_table[start:self._judged] = np.fromiter(map(self._line_ids.__getitem__, cleaned), np.int64, len(cleaned))
        self._length_table[start:self._judged] = np.fromiter(map(len, cleaned), np.int64, len(cleaned))
        self._rule_table[start:self._judged] = rules


def with_room(array: np.ndarray, size: int) -> np.ndarray:
    """`array`, or a copy at least twice as long with zeros after it, when it is shorter than `size`."""
    if len(array) >= size:
        return array
    grown = np.zeros(max(size, 2 * len(array)), array.dtype)
    grown[:len(array)] = array
    return grown


class Interner(dict):
    """Text -> id in first-seen order; looking up a text not seen before gives it the next id."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []  # by id

    def __missing__(self, text: str) -> int:
        self[text] = text_id = len(self.texts)
        self.texts.append(text)
        return text_id


def split_train_test(lines: Iterable[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Assign each line by a hash of (seed, line): stable under reordering or growing the corpus.

    Both lists are ordered by that hash, a seeded shuffle that does not depend on input order.
    """
    scored = sorted((unit_hash(str(seed), "split", line), line) for line in set(lines))
    train = [line for score, line in scored if score >= test_fraction]
    test = [line for score, line in scored if score < test_fraction]
    return train, test
