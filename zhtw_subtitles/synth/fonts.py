"""Subtitle fonts: the embedded Noto TC faces, font files and folders, installed families (fontconfig), and
per-character coverage (no tofu)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
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


# name in render.fonts: (PyPI package that ships it, file in the package, family); every one is OFL.
EMBEDDED_FACES = {
    "noto_sans_tc": ("pylopdf_fonts_zh_tw", "NotoSansTC-Regular.otf", "Noto Sans TC"),
    "noto_serif_tc": ("pylopdf_fonts_zh_tw", "NotoSerifTC-Regular.otf", "Noto Serif TC"),
    "noto_sans_cjk_tc_bold": ("cvttf_NotoSansCJK_Bold", "NotoSansCJKtc-Bold.otf", "Noto Sans CJK TC Bold"),
    "noto_sans_cjk_tc_black": ("cvttf_NotoSansCJK_Black", "NotoSansCJKtc-Black.otf", "Noto Sans CJK TC Black"),
}


def embedded_fonts() -> dict[str, FontFace]:
    """The faces of EMBEDDED_FACES, by name, whose package is installed (requirements.lock installs them all)."""
    faces = {}
    for name, (package, filename, family) in EMBEDDED_FACES.items():
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            faces[name] = FontFace(str(Path(spec.submodule_search_locations[0]) / filename), 0, family)
    return faces


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
    """Faces named in `render.fonts` (embedded names, font file paths or installed family names) plus every font
    in `render.font_dir`."""
    embedded = embedded_fonts()
    faces = []
    for name in names:
        if name in embedded:
            faces.append(embedded[name])
        elif name in EMBEDDED_FACES:
            raise ConfigError(f"font '{name}' needs the PyPI package {EMBEDDED_FACES[name][0]}: "
                              "pip install -r requirements.lock")
        elif Path(name).suffix.lower() in FONT_SUFFIXES:
            faces.append(open_face(Path(name)))
        else:
            faces.append(system_font(name, sorted(embedded)))
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


def system_font(family: str, embedded: list[str]) -> FontFace:
    """The installed face of `family` that fontconfig picks for Traditional Chinese; fontconfig's fallback to some
    other family is refused."""
    unknown = (f"unknown font '{family}' in render.fonts: it is not an embedded face ({embedded}), not a font file "
               "(.ttf/.otf/.ttc) and not an installed font family")
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise ConfigError(f"{unknown} (fontconfig's fc-match, which finds families, is not installed; give the "
                          "font file's path instead)")
    wanted = family.split(":")[0].strip()
    result = subprocess.run([fc_match, "--format=%{file}\n%{index}\n%{family}", f"{wanted}:lang=zh-tw"],
                            capture_output=True, text=True, check=False)
    path, index, families = (result.stdout.split("\n") + ["", "", ""])[:3]
    if result.returncode != 0 or wanted.lower() not in {f.strip().lower() for f in families.split(",")}:
        offered = f" (fontconfig offered '{families}')" if families else ""
        raise ConfigError(f"{unknown}{offered}; `fc-list :lang=zh family` lists the installed Chinese families")
    if Path(path).suffix.lower() not in {".ttc", ".otc"}:
        return open_face(Path(path))
    try:
        with TTFont(path, fontNumber=int(index), lazy=True) as font:
            return FontFace(path, int(index), _family(font))
    except Exception as error:  # fontTools raises many kinds on damaged files
        raise ConfigError(f"cannot read font {path} (face {index}), which fontconfig gives for '{family}': "
                          f"{error}. Give another family or a font file path") from error
