"""A Hugging Face hub id as a local folder on the machine doing the loading: its snapshot in the local Hugging Face
cache (`HF_HOME`, `HF_HUB_CACHE`) when there, else downloaded once into that cache.

What is fetched is what a VLM needs to load: configs, tokenizer, processor, chat template and code files, and the
weights in one format: safetensors where the repository has them, else its PyTorch `.bin` files (older uploads).
"""
from __future__ import annotations

from huggingface_hub import HfApi, constants, get_cached_repo_tree, snapshot_download
from huggingface_hub.errors import (
    CachedRepoTreeNotFoundError,
    IncompleteSnapshotError,
    LocalEntryNotFoundError,
)

from zhtw_subtitles.core.config import ConfigError

LOADING_FILES = ["*.json", "*.model", "*.txt", "*.jinja", "*.py", "*.tiktoken"]
SAFETENSORS, PYTORCH_BIN = "*.safetensors", "*.bin"


def hub_patterns(files: list[str]) -> list[str]:
    """The files of a repository listing to fetch: one weight format, safetensors before `.bin`."""
    weights = SAFETENSORS if any(name.endswith(".safetensors") for name in files) else PYTORCH_BIN
    return [*LOADING_FILES, weights]


def first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"


def cached_snapshot(repo_id: str) -> tuple[str | None, str]:
    """(the snapshot folder, "") when the local cache holds `repo_id` whole, else (None, why it does not)."""
    try:
        try:
            patterns = hub_patterns([entry.path for entry in get_cached_repo_tree(repo_id)])
        except CachedRepoTreeNotFoundError:
            patterns = None  # a cache filled by hand or by an older huggingface_hub: no file listing to check
        return snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns), ""
    except IncompleteSnapshotError as error:  # an interrupted download: which files are missing
        return None, first_line(error)
    except LocalEntryNotFoundError:
        return None, "not there"
    except OSError as error:
        raise ConfigError(f"the Hugging Face cache {constants.HF_HUB_CACHE} could not be read for '{repo_id}' "
                          f"({first_line(error)}): check that folder's permissions, or point HF_HOME elsewhere") from None


def hub_snapshot(repo_id: str) -> str:
    """The local folder of `repo_id`, from the cache or, when the cache lacks it, downloaded into it."""
    folder, not_cached = cached_snapshot(repo_id)
    if folder is not None:
        return folder
    try:
        files = [sibling.rfilename for sibling in HfApi().model_info(repo_id).siblings or []]
        return snapshot_download(repo_id, allow_patterns=hub_patterns(files))
    except Exception as error:  # offline, unknown id, gated, hub down: all end in the same advice
        raise ConfigError(
            f"model.base '{repo_id}' is not a folder, not usable from the Hugging Face cache {constants.HF_HUB_CACHE} "
            f"({not_cached}), and could not be downloaded ({first_line(error)}). On a machine with internet run "
            f"`hf download {repo_id}` (then copy its HF_HOME here), or set model.base to a local folder"
        ) from None
