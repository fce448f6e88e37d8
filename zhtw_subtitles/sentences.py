"""Cuts raw text into subtitle lines, the way the study did, and splits them into train and test."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .config import require


@dataclass(frozen=True)
class SentenceConfig:
    min_len: int = 2
    max_len: int = 17  # the study kept lines shorter than 18 characters
    split_chars: str = "，。！？、"
    # Half-width , ! ? ; are written as their full-width forms before splitting.
    fullwidth_punctuation: bool = True
    strip_brackets: bool = True  # trim 「」『』“”"'（）() around a piece
    # Drop a piece holding anything other than Han characters, digits, spaces and subtitle punctuation.
    chinese_only: bool = True
    # Taiwanese caption style: neighbouring phrases kept on one line, separated by a space, not a comma.
    space_join_prob: float = 0.15
    opencc_config: str | None = "s2twp"  # Simplified -> Taiwan characters and vocabulary; null keeps the text
    test_fraction: float = 0.03

    def __post_init__(self) -> None:
        require(1 <= self.min_len <= self.max_len, f"need 1 <= sentences.min_len <= sentences.max_len, got {self.min_len}, {self.max_len}")
        require(0.0 < self.test_fraction < 1.0, f"sentences.test_fraction must lie in (0, 1), got {self.test_fraction}")
        require(0.0 <= self.space_join_prob <= 1.0, f"sentences.space_join_prob must lie in [0, 1], got {self.space_join_prob}")
        require(bool(self.split_chars), "sentences.split_chars must not be empty")

    @cached_property
    def _phrase_end(self) -> re.Pattern[str]:
        return re.compile(f"[{re.escape(self.split_chars)}\n\r]")


HALF_TO_FULL = str.maketrans({",": "，", "!": "！", "?": "？", ";": "；"})
BRACKETS = "「」『』“”‘’\"'（）()《》〈〉[]【】 \u3000"
ALLOWED_NON_HAN = set("0123456789０１２３４５６７８９ ·…—～；：「」『』《》〈〉")
# Pieces that end inside a sentence, so that the next piece may follow on the same caption line.
PHRASE_JOINERS = "，、"


def is_han(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def clean_piece(piece: str, config: SentenceConfig) -> str:
    piece = piece.strip()
    if config.strip_brackets:
        piece = piece.strip(BRACKETS)
    return piece


def rejection(piece: str, config: SentenceConfig) -> str | None:
    """Name of the first rule that drops `piece`, or None when it is kept."""
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


class SentenceExtractor:
    """Streams texts through the cutting rules; counts what each rule dropped."""

    def __init__(self, config: SentenceConfig, seed: int):
        self.config = config
        self.seed = seed
        self.counts: Counter[str] = Counter()
        self._converter = None
        if config.opencc_config:
            import opencc

            self._converter = opencc.OpenCC(config.opencc_config)

    def lines(self, texts: Iterable[str]) -> list[str]:
        """Distinct subtitle lines in first-seen order."""
        kept: dict[str, None] = {}
        for text in texts:
            self.counts["texts_read"] += 1
            for line in self._cut(text):
                if line in kept:
                    self.counts["dropped_duplicate"] += 1
                else:
                    kept[line] = None
        self.counts["lines_kept"] = len(kept)
        return list(kept)

    def _cut(self, text: str) -> Iterable[str]:
        if self._converter is not None:
            text = self._converter.convert(text)
        if self.config.fullwidth_punctuation:
            text = text.translate(HALF_TO_FULL)
        pieces, ends = self._split_keeping_ends(text)
        pending: str | None = None
        for piece, end in zip(pieces, ends):
            piece = clean_piece(piece, self.config)
            if not piece:
                continue
            self.counts["pieces"] += 1
            reason = rejection(piece, self.config)
            if reason:
                self.counts[f"dropped_{reason}"] += 1
                pending = None
                continue
            if pending is not None:
                joined = f"{pending} {piece}"
                if len(joined) <= self.config.max_len and unit_hash(str(self.seed), "join", joined) < self.config.space_join_prob:
                    self.counts["space_joined"] += 1
                    yield joined
                    pending = None
                    continue
            yield piece
            pending = piece if end in PHRASE_JOINERS else None

    def _split_keeping_ends(self, text: str) -> tuple[list[str], list[str]]:
        pieces, ends, start = [], [], 0
        for match in self.config._phrase_end.finditer(text):
            pieces.append(text[start : match.start()])
            ends.append(match.group())
            start = match.end()
        pieces.append(text[start:])
        ends.append("")
        return pieces, ends


def split_train_test(lines: Iterable[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Assign each line by a hash of (seed, line): stable under reordering or growing the corpus.

    Both lists are ordered by that hash, a seeded shuffle that does not depend on input order.
    """
    scored = sorted((unit_hash(str(seed), "split", line), line) for line in set(lines))
    train = [line for score, line in scored if score >= test_fraction]
    test = [line for score, line in scored if score < test_fraction]
    return train, test
