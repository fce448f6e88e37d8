"""A local model folder placed in a Hugging Face cache as `hf download` leaves a hub model there, so that tests can
load a hub id offline: `<HF_HOME>/hub/models--<org>--<name>/` with `refs/main` naming a commit, the files under
`snapshots/<commit>/`, and the file listing of that commit under `trees/<commit>.json` (huggingface_hub checks a
snapshot against it). Real caches keep the bytes in `blobs/` behind symlinks; plain files read the same.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_cache(hf_home: Path) -> Path:
    return Path(hf_home) / "hub"


def cache_snapshot(folder: Path, hf_home: Path, repo_id: str, listed: list[str] | None = None) -> Path:
    """Copy `folder`'s files into `hf_home`'s cache as the snapshot of `repo_id`; `listed` (default: those files)
    is the commit's file listing, which may name files the snapshot lacks, as after an interrupted download."""
    storage = hub_cache(hf_home) / f"models--{repo_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / COMMIT
    shutil.copytree(folder, snapshot)
    (storage / "refs").mkdir()
    (storage / "refs/main").write_text(COMMIT)
    files = {p.relative_to(snapshot).as_posix(): p for p in snapshot.rglob("*") if p.is_file()}
    listing = {name: {"size": files[name].stat().st_size if name in files else 1,
                      "blob_id": hashlib.sha1(name.encode()).hexdigest()} for name in (listed or files)}
    (storage / "trees").mkdir()
    (storage / f"trees/{COMMIT}.json").write_text(json.dumps({"format_version": 1, "files": listing}))
    return snapshot
