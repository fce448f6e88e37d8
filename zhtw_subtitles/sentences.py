"""Cuts raw text into subtitle lines, the way the study did, and splits them into train and test."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice

from .config import require


@dataclass(frozen=True)
class SentenceConfig:
    min_len: int = 2
    max_len: int = 17  # the study kept lines shorter than 18 characters
    split_chars: str = "，。！？、"
    # Half-width , ! ? ; are read as their full-width forms.
    fullwidth_punctuation: bool = True
    strip_list_markers: bool = True  # the study: cut a leading "- " or numbered-list prefix such as "1."
    drop_speaker_labels: bool = True  # the study: drop pieces holding a colon, such as "小明：你好"
    strip_brackets: bool = True  # trim 「」『』“”"'（）() around a piece
    # Drop a piece holding anything other than Han characters, digits, spaces and subtitle punctuation.
    chinese_only: bool = True
    # Taiwanese caption style: neighbouring phrases kept on one line, separated by a space, not a comma.
    space_join_prob: float = 0.15
    opencc_config: str | None = "s2twp"  # Simplified -> Taiwan characters and vocabulary; null keeps the text
    convert_zh_tw: bool = False  # also run OpenCC on corpora published in Taiwan Traditional
    test_fraction: float = 0.03

    def __post_init__(self) -> None:
        require(1 <= self.min_len <= self.max_len, f"need 1 <= sentences.min_len <= sentences.max_len, got {self.min_len}, {self.max_len}")
        require(0.0 < self.test_fraction < 1.0, f"sentences.test_fraction must lie in (0, 1), got {self.test_fraction}")
        require(0.0 <= self.space_join_prob <= 1.0, f"sentences.space_join_prob must lie in [0, 1], got {self.space_join_prob}")
        require(bool(self.split_chars), "sentences.split_chars must not be empty")

    def converts(self, zh_tw: bool) -> bool:
        """Whether OpenCC runs on a corpus; `zh_tw` says it is already Taiwan Traditional."""
        return self.opencc_config is not None and (self.convert_zh_tw or not zh_tw)

    @cached_property
    def _phrase_end(self) -> re.Pattern[str]:
        ends = set(self.split_chars) | {"\n", "\r", TEXT_END}
        if self.fullwidth_punctuation:
            ends |= {FULL_TO_HALF[c] for c in self.split_chars if c in FULL_TO_HALF}
        return re.compile(f"([{re.escape(''.join(sorted(ends)))}])")


FULL_WIDTH = {",": "，", "!": "！", "?": "？", ";": "；"}
HALF_TO_FULL = str.maketrans(FULL_WIDTH)
FULL_TO_HALF = {full: half for half, full in FULL_WIDTH.items()}
BRACKETS = "「」『』“”‘’\"'（）()《》〈〉[]【】 \u3000"
ALLOWED_NON_HAN = set("0123456789０１２３４５６７８９ ·…—～；：「」『』《》〈〉")
# Pieces that end inside a sentence, so that the next piece may follow on the same caption line.
PHRASE_JOINERS = "，、,"
LIST_MARKER = re.compile(r"^(?:[-‐–—•・*]+\s*|[(（]?[0-9０-９]{1,3}[.．)）](?![0-9０-９])\s*)")
SPEAKER_COLONS = ("：", ":")
# Texts are cut in batches joined by this character; it ends a text the way a newline ends a line.
TEXT_END = "\x1e"
BATCH_TEXTS = 20_000


# Names of the rules that drop a piece, as counted in metrics/sentences.json (dropped_<rule>).
RULES = ("speaker_label", "too_short", "too_long", "not_chinese", "no_han", "duplicate")


def is_han(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def clean_piece(piece: str, config: SentenceConfig) -> str:
    piece = piece.strip()
    if config.strip_list_markers:
        piece = LIST_MARKER.sub("", piece, count=1)
    if config.strip_brackets:
        piece = piece.strip(BRACKETS)
    return piece


def rejection(piece: str, config: SentenceConfig) -> str | None:
    """Name of the first rule that drops `piece`, or None when it is kept."""
    if config.drop_speaker_labels and any(colon in piece for colon in SPEAKER_COLONS):
        return "speaker_label"
    if len(piece) < config.min_len:
        return "too_short"
    if len(piece) > config.max_len:
        return "too_long"
    if config.chinese_only and not all(is_han(c) or c in ALLOWED_NON_HAN for c in piece):
        return "not_chinese"
    if not any(is_han(c) for c in piece):
        return "no_han"
    return None


def unit_hash(*parts: str) -> float:
    """A stable number in [0, 1) from strings: the same on every machine, Python version and run."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class SentenceExtractor:
    """Streams texts through the cutting rules; counts what each rule dropped.

    Texts are cut in large batches, and each distinct piece is converted and judged once: corpora repeat
    their short phrases so often that this, not the per-text work, sets the speed (bench/corpus_extract.py).
    """

    def __init__(self, config: SentenceConfig, seed: int, convert: bool = True):
        self.config = config
        self.seed = seed
        # Every rule is listed, so that `dvc metrics diff` shows a rule going from 0 to n.
        self.counts: Counter[str] = Counter(dict.fromkeys([*(f"dropped_{rule}" for rule in RULES), "space_joined"], 0))
        self._judged: dict[str, tuple[str, str | None]] = {}
        self._converter = None
        if convert and config.opencc_config:
            import opencc

            self._converter = opencc.OpenCC(config.opencc_config)

    def lines(self, texts: Iterable[str]) -> list[str]:
        """Distinct subtitle lines in first-seen order."""
        kept: dict[str, None] = {}
        for batch in batches(texts, BATCH_TEXTS):
            self.counts["texts_read"] += len(batch)
            self._cut_batch(batch, kept)
        self.counts["lines_kept"] = len(kept)
        return list(kept)

    def _cut_batch(self, texts: list[str], kept: dict[str, None]) -> None:
        parts = self.config._phrase_end.split(TEXT_END.join(texts) + TEXT_END)
        raw_pieces, ends = parts[0:-1:2], parts[1::2]
        self._judge_new(raw_pieces)
        judged, max_len, join_prob, seed = self._judged, self.config.max_len, self.config.space_join_prob, str(self.seed)
        counts = self.counts
        pending: str | None = None
        for raw, end in zip(raw_pieces, ends):
            piece, reason = judged[raw]
            if not piece:
                if end == TEXT_END:
                    pending = None
                continue
            counts["pieces"] += 1
            if reason:
                counts[f"dropped_{reason}"] += 1
                pending = None
                continue
            if pending is not None:
                joined = f"{pending} {piece}"
                if len(joined) <= max_len and unit_hash(seed, "join", joined) < join_prob:
                    counts["space_joined"] += 1
                    self._keep(joined, kept)
                    pending = None
                    continue
            self._keep(piece, kept)
            pending = piece if end in PHRASE_JOINERS else None

    def _keep(self, line: str, kept: dict[str, None]) -> None:
        if line in kept:
            self.counts["dropped_duplicate"] += 1
        else:
            kept[line] = None

    def _judge_new(self, raw_pieces: list[str]) -> None:
        """Clean and judge each piece not seen before; OpenCC converts them all in one call."""
        new = [piece for piece in set(raw_pieces) if piece not in self._judged]
        converted = new
        if self._converter is not None and new:
            # Pieces never hold a newline, so one joined call converts them all and splits back exactly.
            converted = self._converter.convert("\n".join(new)).split("\n")
            if len(converted) != len(new):
                converted = [self._converter.convert(piece) for piece in new]
        for raw, text in zip(new, converted):
            if self.config.fullwidth_punctuation:
                text = text.translate(HALF_TO_FULL)
            piece = clean_piece(text, self.config)
            self._judged[raw] = (piece, rejection(piece, self.config) if piece else None)


def split_train_test(lines: Iterable[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Assign each line by a hash of (seed, line): stable under reordering or growing the corpus.

    Both lists are ordered by that hash, a seeded shuffle that does not depend on input order.
    """
    scored = sorted((unit_hash(str(seed), "split", line), line) for line in set(lines))
    train = [line for score, line in scored if score >= test_fraction]
    test = [line for score, line in scored if score < test_fraction]
    return train, test
