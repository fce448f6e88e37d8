"""WebDataset-style tar shards: `<key>.jpg`, `<key>.txt` (the subtitle) and `<key>.json` (render metadata).

Shards are written byte-for-byte reproducibly (fixed member order, times and owners), so DVC sees the same
hashes whenever the same params are rendered again.
"""
from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("key", "shard", "text", "font", "font_size", "width", "height")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.tar"


class ShardWriter:
    """Writes samples into numbered shards of `shard_size` samples and a manifest that lists them."""

    def __init__(self, folder: Path, shard_size: int):
        self.folder = Path(folder)
        self.shard_size = shard_size
        self.count = 0
        self._tar: tarfile.TarFile | None = None
        self._manifest = open(self.folder / MANIFEST, "w", encoding="utf-8", newline="")
        self._rows = csv.writer(self._manifest)
        self._rows.writerow(MANIFEST_COLUMNS)

    def write(self, key: str, jpeg: bytes, meta: dict) -> None:
        if self.count % self.shard_size == 0:
            self._close_tar()
            self._tar = tarfile.open(self.folder / shard_name(self.count // self.shard_size), "w", format=tarfile.USTAR_FORMAT)
        self._add(f"{key}.jpg", jpeg)
        self._add(f"{key}.txt", meta["text"].encode("utf-8"))
        self._add(f"{key}.json", json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        self._rows.writerow([key, shard_name(self.count // self.shard_size)] + [meta[c] for c in MANIFEST_COLUMNS[2:]])
        self.count += 1

    def _add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        self._tar.addfile(info, io.BytesIO(data))

    def _close_tar(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def close(self) -> None:
        self._close_tar()
        self._manifest.close()


@dataclass(frozen=True)
class Sample:
    key: str
    jpeg: bytes
    text: str
    meta: dict


def read_shard(path: Path) -> Iterator[Sample]:
    """Samples of one shard in the order they were written."""
    parts: dict[str, dict[str, bytes]] = {}
    with tarfile.open(path) as tar:
        for member in tar:
            key, _, extension = member.name.rpartition(".")
            parts.setdefault(key, {})[extension] = tar.extractfile(member).read()
    for key, files in parts.items():
        meta = json.loads(files["json"])
        yield Sample(key, files["jpg"], files["txt"].decode("utf-8"), meta)


def read_split(folder: Path) -> Iterator[Sample]:
    """Every sample of a rendered split (e.g. data/synth/test), shard by shard."""
    for path in sorted(Path(folder).glob("shard-*.tar")):
        yield from read_shard(path)


def read_manifest(folder: Path) -> list[dict[str, str]]:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `dvc repro render_synth` first")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
