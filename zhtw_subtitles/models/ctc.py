"""CTC label space of PaddleOCR recognisers: blank at index 0, then the dictionary, then a space."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import torch

BLANK_INDEX = 0


class UnknownCharactersError(ValueError):
    """Raised by `CtcCharset.encode` for text the recogniser has no class for; `.unknown` lists them."""

    def __init__(self, text: str, unknown: Sequence[str]):
        self.text = text
        self.unknown = tuple(unknown)
        listed = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in self.unknown)
        super().__init__(f"{len(self.unknown)} character(s) not in the CTC dictionary: {listed} in {text!r}")


class CtcCharset:
    """Class index <-> character mapping; class i (i >= 1) is `characters[i - 1]`, class 0 is the CTC blank."""

    def __init__(self, characters: Iterable[str]):
        self.characters = tuple(characters)
        self._class_of = {char: index for index, char in enumerate(self.characters, start=1)}
        if len(self._class_of) != len(self.characters):
            repeated = sorted(char for char, count in Counter(self.characters).items() if count > 1)
            raise ValueError(f"CTC dictionary lists characters more than once: {repeated}")

    @classmethod
    def from_paddle_dictionary(cls, lines: Iterable[str]) -> CtcCharset:
        """PaddleOCR (use_space_char=True) and rapidocr append " " as the last class after the dictionary lines."""
        return cls([*lines, " "])

    @property
    def num_classes(self) -> int:
        return len(self.characters) + 1

    def unknown_characters(self, text: str) -> list[str]:
        """Characters of `text` without a class, each once, in order of first appearance."""
        return list(dict.fromkeys(char for char in text if char not in self._class_of))

    def encode(self, text: str) -> list[int]:
        """Class ids of `text`, one per character; raises UnknownCharactersError rather than dropping any."""
        unknown = self.unknown_characters(text)
        if unknown:
            raise UnknownCharactersError(text, unknown)
        return [self._class_of[char] for char in text]

    def decode_path(self, path: Sequence[int]) -> str:
        """Greedy CTC decoding of one frame-wise class path: merge runs of equal ids, then drop blanks."""
        chars = []
        previous = None
        for class_id in path:
            if class_id != previous and class_id != BLANK_INDEX:
                chars.append(self.characters[class_id - 1])
            previous = class_id
        return "".join(chars)

    def decode_greedy(self, scores: torch.Tensor) -> list[str]:
        """Best-path texts of N x T x C logits or probabilities (same argmax either way)."""
        return [self.decode_path(path) for path in scores.argmax(dim=-1).tolist()]
