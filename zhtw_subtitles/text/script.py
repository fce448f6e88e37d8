"""Which characters a Taiwan Traditional (zh-TW) subtitle never holds: the Simplified-only forms."""
from __future__ import annotations

from collections.abc import Iterable

import opencc

TAIWAN_CODEC = "cp950"  # Big5 as Taiwan's systems use it


def in_big5(character: str) -> bool:
    try:
        character.encode(TAIWAN_CODEC)
        return True
    except UnicodeEncodeError:
        return False


def simplified_only(characters: Iterable[str], used: Iterable[str] = ()) -> list[str]:
    """The characters, in order, that are Simplified forms only: OpenCC's s2t turns each into another character,
    Big5 has no code for it, and `used` (the text a model learns from) never holds it. So 们, 给 and 丢 are
    Simplified only, while 余, 于 and 台, which s2t also converts, stay: Taiwan writes them (Big5 has them)."""
    to_traditional = opencc.OpenCC("s2t")
    used = set("".join(used))
    return [character for character in characters
            if len(character) == 1 and character not in used and not in_big5(character)
            and to_traditional.convert(character) != character]
