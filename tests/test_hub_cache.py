"""Hub ids resolved through the local Hugging Face cache of the machine doing the loading, weights only in .bin
files, a cache look-up that fails saying why, and corpus downloads that fail with what to do instead of a traceback."""
from __future__ import annotations

import subprocess
import sys

import huggingface_hub
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText

from zhtw_subtitles.core.config import ConfigError, default_config
from zhtw_subtitles.models.hub_cache import hub_patterns
from zhtw_subtitles.models.registry import ModelConfig, resolve_vlm
from zhtw_subtitles.models.vlm_models import load_vlm
from zhtw_subtitles.testing.dvc_repo import REPO
from zhtw_subtitles.testing.hub_snapshot import cache_snapshot, hub_cache
from zhtw_subtitles.testing.tiny_vlms import build_tiny_vlm

REPO_ID = "tiny-org/tiny-llava"


@pytest.fixture()
def offline_home(tmp_path, monkeypatch):
    """An empty HF_HOME, offline: what huggingface_hub read from the environment when it was imported is set too."""
    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache(home)))
    return home


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_vlm("llava", tmp_path_factory.mktemp("tiny") / "model", ["明天見"], seed=0)


def test_a_hub_id_is_read_from_this_machines_cache(tiny, offline_home):
    snapshot = cache_snapshot(tiny, offline_home, REPO_ID)
    assert resolve_vlm(REPO_ID) == str(snapshot)


def test_weights_only_in_bin_files_are_fetched_and_load(tiny, offline_home, tmp_path):
    assert hub_patterns(["config.json", "pytorch_model.bin"])[-1] == "*.bin"
    assert "*.bin" not in hub_patterns(["config.json", "model.safetensors", "pytorch_model.bin"])  # never both

    bin_only = tmp_path / "bin_only"
    bin_only.mkdir()
    for path in tiny.iterdir():
        if path.suffix != ".safetensors":
            (bin_only / path.name).write_bytes(path.read_bytes())
    torch.save(load_file(tiny / "model.safetensors"), bin_only / "pytorch_model.bin")
    cache_snapshot(bin_only, offline_home, REPO_ID)
    model, _ = load_vlm(resolve_vlm(REPO_ID), default_config(ModelConfig, "model", base=REPO_ID), None, for_training=False)
    expected = AutoModelForImageTextToText.from_pretrained(tiny).state_dict()
    assert all(torch.equal(value, expected[name]) for name, value in model.state_dict().items())


def test_a_snapshot_missing_files_says_which_and_what_to_do(tiny, offline_home):
    names = [path.name for path in tiny.iterdir()]
    cache_snapshot(tiny, offline_home, REPO_ID, listed=[*names, "model-00002-of-00002.safetensors"])
    with pytest.raises(ConfigError) as raised:
        resolve_vlm(REPO_ID)
    message = str(raised.value)
    assert "incomplete" in message and "model-00002-of-00002.safetensors" in message
    assert str(hub_cache(offline_home)) in message and f"hf download {REPO_ID}" in message


def test_a_hub_id_missing_from_the_cache_names_the_cache_searched(offline_home):
    with pytest.raises(ConfigError, match=f"Hugging Face cache {hub_cache(offline_home)} \\(not there\\)"):
        resolve_vlm(REPO_ID)


def test_a_corpus_download_without_internet_says_what_to_run_where(tmp_path):
    result = subprocess.run([sys.executable, "-m", "zhtw_subtitles.text.download_corpus", "dolly_15k",
                             "--corpus-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "could not download Hugging Face dataset erhwenkuo/dolly-15k-chinese-zhtw" in result.stderr
    assert "python -m zhtw_subtitles.text.download_corpus dolly_15k" in result.stderr
