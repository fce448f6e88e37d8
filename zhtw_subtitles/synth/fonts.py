"""Subtitle fonts: the embedded Noto TC faces, user font folders, and per-character coverage (no tofu)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from zhtw_subtitles.core.config import ConfigError

FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc"}
# Family-name marks of faces drawn for Traditional Chinese, most specific first.
TRADITIONAL_MARKS = (" TC", "Traditional", " HK", "CHT", "MingLiU", "PMingLiU", "Ming")


@dataclass(frozen=True)
class FontFace:
    """One face of a font file; `index` selects the face inside a .ttc/.otc collection."""

    path: str
    index: int
    name: str

    @cached_property
    def codepoints(self) -> frozenset[int]:
        with TTFont(self.path, fontNumber=self.index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})

    def covers(self, text: str) -> bool:
        return all(ord(char) in self.codepoints for char in text)

    def missing(self, text: str) -> str:
        return "".join(sorted({c for c in text if ord(c) not in self.codepoints}))


def embedded_fonts() -> dict[str, FontFace]:
    """Noto Sans TC and Noto Serif TC (OFL), shipped by PyPI `pylopdf-fonts-zh-tw`."""
    package = resources.files("pylopdf_fonts_zh_tw")
    return {
        "noto_sans_tc": FontFace(str(package / "NotoSansTC-Regular.otf"), 0, "Noto Sans TC"),
        "noto_serif_tc": FontFace(str(package / "NotoSerifTC-Regular.otf"), 0, "Noto Serif TC"),
    }


def open_face(path: Path) -> FontFace:
    """The face of a font file meant for Traditional Chinese; in a collection, never index 0 by accident."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"font file {path} not found: fix the path in params.yaml (render.fonts or render.font_dir)")
    try:
        if path.suffix.lower() in {".ttc", ".otc"}:
            with TTCollection(str(path), lazy=True) as collection:
                names = [_family(font) for font in collection.fonts]
            index = _traditional_face_index(names, path)
            return FontFace(str(path), index, names[index])
        with TTFont(str(path), lazy=True) as font:
            return FontFace(str(path), 0, _family(font))
    except ConfigError:
        raise
    except Exception as error:  # fontTools raises many kinds on damaged files
        raise ConfigError(f"cannot read font {path}: {error}. Remove it or replace it with a valid .ttf/.otf/.ttc") from error


def _family(font: TTFont) -> str:
    return font["name"].getDebugName(4) or font["name"].getDebugName(1) or "unnamed"


def _traditional_face_index(names: list[str], path: Path) -> int:
    for mark in TRADITIONAL_MARKS:
        for index, name in enumerate(names):
            if mark.lower() in f" {name}".lower():
                return index
    raise ConfigError(
        f"{path} is a font collection with no Traditional-Chinese face (faces: {names}); "
        "extract the face you want into its own .ttf/.otf file"
    )


def resolve_fonts(names: tuple[str, ...], font_dir: str | None) -> list[FontFace]:
    """Faces named in `render.fonts` (embedded names or file paths) plus every font in `render.font_dir`."""
    embedded = embedded_fonts()
    faces = []
    for name in names:
        if name in embedded:
            faces.append(embedded[name])
        elif Path(name).suffix.lower() in FONT_SUFFIXES:
            faces.append(open_face(Path(name)))
        else:
            raise ConfigError(f"unknown font '{name}' in render.fonts; use one of {sorted(embedded)} or a font file path")
    if font_dir:
        folder = Path(font_dir)
        if not folder.is_dir():
            raise ConfigError(f"render.font_dir '{font_dir}' is not a folder")
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)
        if not found:
            raise ConfigError(f"render.font_dir '{font_dir}' holds no .ttf/.otf/.ttc font")
        faces.extend(open_face(p) for p in found)
    if not faces:
        raise ConfigError("no fonts: set render.fonts and/or render.font_dir")
    return faces
