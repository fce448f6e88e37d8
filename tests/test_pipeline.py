"""The whole pipeline under the real `dvc` CLI, on a tiny parameter set in a temporary copy of the repo, and the
default run's committed scores."""
from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from rapidfuzz.distance import Levenshtein

from zhtw_subtitles.core.config import default_params
from zhtw_subtitles.dataset.predictions_csv import read_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.testing.dvc_repo import REPO, DvcRepo


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = DvcRepo.create(tmp_path_factory.mktemp("pipeline") / "repo")
    repo.run("dvc", "repro")
    return repo


@pytest.mark.slow
def test_repro_writes_every_output(repo):
    root = repo.root
    train = (root / "data/sentences/train.txt").read_text(encoding="utf-8").splitlines()
    test = (root / "data/sentences/test.txt").read_text(encoding="utf-8").splitlines()
    assert train and test and not set(train) & set(test)
    assert sorted(p.name for p in (root / "data/synth/train").iterdir()) == [
        "manifest.csv", "shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]
    assert len(read_manifest(root / "data/synth/test")) == 6
    conversations = sum(len(json.loads((root / f"data/llava/{s}.json").read_text(encoding="utf-8"))) for s in ("train", "val"))
    assert conversations == 12
    render = json.loads((root / "metrics/render.json").read_text())
    assert render["train"]["images"] == 12 and render["backgrounds_skipped_unreadable"] == 0
    sentences = json.loads((root / "metrics/sentences.json").read_text())
    assert sentences["corpus"] == "hsk" and sentences["train_lines"] == len(train)


@pytest.mark.slow
def test_model_stages_end_in_scores_for_all_three_readers(repo):
    root = repo.root
    assert {p.name for p in (root / "models/recognizer").iterdir()} == {
        "config.json", "model.safetensors", "preprocessor_config.json", "model.onnx"}
    scores = json.loads((root / "metrics/scores.json").read_text())
    assert set(scores) == {"test", "unseen"}
    for split, readers in scores.items():
        assert set(readers) == {"finetuned", "base", "peer"}
        truths = {row["key"]: row["text"] for row in read_manifest(root / "data/synth" / split)}
        for name, reader in readers.items():
            predicted = read_csv_predictions(root / f"data/predictions/{name}/{split}.csv")
            assert set(predicted) == set(truths)
            # counted again with another edit-distance library than the score stage's jiwer
            edits = sum(Levenshtein.distance(truth, predicted[key]) for key, truth in truths.items())
            assert reader["n"] == len(truths) and reader["cer"] == round(edits / sum(map(len, truths.values())), 6)
            empty = [key for key, truth in truths.items() if not truth]
            false_readings = sum(bool(predicted[key].strip()) for key in empty) / len(empty) if empty else None
            assert reader["false_readings"] == (None if false_readings is None else round(false_readings, 6))
    assert len(read_manifest(root / "data/synth/test")) == 6
    header = (root / "data/predictions/finetuned/test.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,text"
    assert (root / "metrics/cer_by_length.csv").read_text().startswith("length,n,finetuned,base,peer")
    assert (root / "metrics/worst_predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((root / "metrics/finetune/metrics.json").read_text())["step"] == 2


@pytest.mark.slow
def test_status_is_clean_after_repro(repo):
    assert "Data and pipelines are up to date" in repo.run("dvc", "status").stdout


def cached_output_hashes(root) -> dict[str, str]:
    """dvc.lock's hash of every output DVC caches; metrics and plots marked `cache: false` hold timings."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"].values()
    uncached = {path for stage in stages for kind in ("outs", "metrics", "plots") for entry in stage.get(kind, [])
                if isinstance(entry, dict) for path, options in entry.items() if options.get("cache") is False}
    lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])
            if out["path"] not in uncached}


@pytest.mark.slow
def test_forced_rerun_gives_byte_identical_outputs(repo):
    """Timings live in metrics files (cache: false), so re-running every stage changes no cached output."""
    before = cached_output_hashes(repo.root)
    repo.run("dvc", "repro", "--force")
    after = cached_output_hashes(repo.root)
    assert after == before
    assert {"models/recognizer", "data/predictions/finetuned", "data/predictions/peer"} <= set(after)
    assert json.loads((repo.root / "metrics/speed/finetuned.json").read_text())["test"]["frames_per_s"] > 0


@pytest.mark.slow
def test_experiment_reruns_only_what_depends_on_the_changed_param(repo):
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-qm", "baseline")
    output = repo.run("dvc", "exp", "run", "-S", "render.num_images=15").stdout
    assert "Stage 'extract_sentences' didn't change, skipping" in output
    assert "Running stage 'render_synth'" in output and "Running stage 'build_json'" in output
    assert "Stage 'peer' didn't change, skipping" in output  # the test frames did not change
    assert len(read_manifest(repo.root / "data/synth/train")) == 15


@pytest.mark.slow
def test_unknown_corpus_fails_and_lists_valid_names(tmp_path):
    repo = DvcRepo.create(tmp_path / "repo", {"corpus": "wikipedia"})
    result = repo.run("dvc", "repro", "extract_sentences", check=False)
    assert result.returncode != 0
    assert "unknown corpus 'wikipedia'; valid names: dolly_15k, embedded, files, generated_chat, hsk, mix, " \
           "multiturn_chat, tatoeba, train_1m, zhtw_error_correction" in result.stdout + result.stderr
    assert not (repo.root / "data/sentences").exists()



def test_fine_tuning_beats_the_base_in_the_default_run():
    """The tiny pipeline cannot show it (6 test frames, a line finder trained for 2 steps), so this reads the default
    run's committed scores, the ones dvc.lock recorded, on all its test frames."""
    lock = yaml.safe_load((REPO / "dvc.lock").read_text(encoding="utf-8"))
    recorded = {out["path"]: out["md5"] for out in lock["stages"]["score"]["outs"]}
    committed = (REPO / "metrics/scores.json").read_bytes()
    assert hashlib.md5(committed).hexdigest() == recorded["metrics/scores.json"], "metrics/scores.json is not dvc.lock's"
    scores = json.loads(committed)["test"]
    assert scores["finetuned"]["n"] == scores["base"]["n"] == default_params()["render"]["num_test_images"]
    assert scores["finetuned"]["cer"] < scores["base"]["cer"]
