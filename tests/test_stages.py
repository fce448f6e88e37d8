"""Stage entry points in-process, for inputs the real corpora cannot produce."""
from __future__ import annotations

import itertools
import json
import runpy
from pathlib import Path

import cv2
import pytest
import yaml
from test_inference_lines import LINES, frame_with_lines
from test_render import CLEAN, classic_config

from zhtw_subtitles.core import io
from zhtw_subtitles.core.config import ConfigError, default_params
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.dataset.predictions_csv import read_csv_predictions, write_csv_predictions
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.reading import predictions, readers
from zhtw_subtitles.reading.line_finder import ClassicalLineFinder
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.testing.dvc_repo import REPO
from zhtw_subtitles.text import corpora


def write_pipeline(root, without: str | None = None, **changes) -> None:
    """What a stage reads its params from, in `root`: the repository's dvc.yaml, and its params.yaml with the
    top-level `changes` and without the key `without`."""
    params = {**yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8")), **changes}
    params.pop(without, None)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    (root / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text(encoding="utf-8"), encoding="utf-8")


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", [name for name, stage in STAGES.items() if "crop" in stage.get("params", [])])
def test_a_stage_without_the_crop_key_stops_naming_it_instead_of_reading_the_whole_frame(stage, tmp_path, monkeypatch):
    write_pipeline(tmp_path, without="crop")  # `crop: null` reads the whole frame; a missing key must not
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=f"params.yaml has no key 'crop', which stage '{stage}' reads: add it"):
        runpy.run_path(str(REPO / "stages" / f"{stage}.py"), run_name="__main__")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


def test_empty_corpus_is_a_clear_error(tmp_path, monkeypatch):
    write_pipeline(tmp_path, corpus="empty")
    monkeypatch.setitem(corpora.CORPORA, "empty", lambda settings: corpora.Source("empty", lambda: iter(["", "a", "OK"]), False))
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/extract_sentences.py"))
    with pytest.raises(ConfigError, match="corpus 'empty' gave 0 usable line"):
        stage["main"]()


MANIFEST_HEADER = "key,shard,text,font,font_size,width,height\n"


def write_manifests(root: Path, rows: dict[str, str]) -> None:
    for split, row in rows.items():
        (root / "data/synth" / split).mkdir(parents=True)
        (root / "data/synth" / split / "manifest.csv").write_text(MANIFEST_HEADER + row, encoding="utf-8")


@pytest.mark.parametrize("stage", ["infer", "baselines", "peer"])
def test_a_reading_stage_on_an_empty_test_split_is_a_clear_error(stage, tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    write_manifests(tmp_path, {"test": "k,0,字,a,1,1,1\n", "unseen": ""})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="data/synth/unseen holds no frames"):
        runpy.run_path(str(REPO / "stages" / f"{stage}.py"))["main"]()


def test_infer_without_a_trained_model_says_how_to_get_one(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    write_manifests(tmp_path, {"test": "k,0,字,a,1,1,1\n", "unseen": "k,0,字,a,1,1,1\n"})
    (tmp_path / "models/recognizer").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no saved model: run `dvc repro finetune` or `dvc pull`"):
        stage["main"]()


def test_infer_without_a_line_finder_says_how_to_get_one(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    write_manifests(tmp_path, {"test": "k,0,字,a,1,1,1\n", "unseen": "k,0,字,a,1,1,1\n"})
    pretrained_ppocr_v6_small().save_pretrained(tmp_path / "models/recognizer")
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match=r"models/line_finder holds no line finder: run `dvc repro finetune_line_finder`"):
        stage["main"]()


# A stage that fails halfway through writing its output leaves the previous output as it was, and no staging folder.

def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def previous_output(folder: Path, files: dict[str, str]) -> dict[str, bytes]:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return files_under(folder)


def staging_folders(folder: Path) -> list[Path]:
    return list(folder.parent.glob(f".{folder.name}.*"))


def test_extract_sentences_failing_on_its_second_file_keeps_the_previous_sentences(tmp_path, monkeypatch):
    lines = ["".join(words) for words in itertools.product("你我他", "想要", "看吃買", "東西書")]
    monkeypatch.setitem(corpora.CORPORA, "lines", lambda settings: corpora.Source("lines", lambda: iter(lines), True))
    write_pipeline(tmp_path, corpus="lines")
    out = tmp_path / "data/sentences"
    before = previous_output(out, {"train.txt": "舊的訓練句\n", "test.txt": "舊的測試句\n"})
    written = []

    def write_lines_until_the_disk_is_full(path, rows):
        if written:
            raise OSError(28, "No space left on device")
        written.append(path)
        write_lines(path, rows)

    write_lines = io.write_lines
    monkeypatch.setattr(io, "write_lines", write_lines_until_the_disk_is_full)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/extract_sentences.py"))
    with pytest.raises(OSError, match="No space left"):
        stage["main"]()
    assert [p.name for p in written] == ["train.txt"]  # the failure came after part of the output was written
    assert files_under(out) == before and not staging_folders(out)
    assert not (tmp_path / "metrics").exists()


def test_render_finding_undrawable_test_lines_after_the_train_split_keeps_the_previous_frames(tmp_path, monkeypatch):
    render = {**default_params()["render"], "num_images": 3, "num_test_images": 2, "workers": 1}
    write_pipeline(tmp_path, render=render)
    previous_output(tmp_path / "data/sentences", {"train.txt": "我知道了\n明天見\n", "test.txt": "𓀀𓀁\n𓀂𓀃\n"})
    out = tmp_path / "data/synth"
    before = previous_output(out, {"train/manifest.csv": "earlier frames\n", "test/manifest.csv": "earlier frames\n"})
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/render_synth.py"))
    with pytest.raises(ConfigError, match="none of the 2 sentences can be drawn"):
        stage["main"]()
    assert files_under(out) == before and not staging_folders(out)
    assert not (tmp_path / "metrics").exists()


def render_test_splits(root: Path, sentences: list[str], config: RenderConfig) -> None:
    """data/synth/test and data/synth/unseen, two frames each, drawn from `sentences`."""
    backgrounds, _ = find_backgrounds(config.use_embedded_backgrounds, config.background_dir)
    for split in ("test", "unseen"):
        (root / "data/synth" / split).mkdir(parents=True)
        render_split("test", sentences, 2, list(embedded_fonts().values()), backgrounds, config, 0, root / "data/synth" / split)


def recogniser_and_classical_finder(root: Path, monkeypatch) -> None:
    """The pretrained recogniser as models/recognizer; the classical line finder stands in for models/line_finder,
    which its own stage trains."""
    pretrained_ppocr_v6_small().save_pretrained(root / "models/recognizer")
    monkeypatch.setattr(readers, "load_line_finder", lambda folder, threads=0: ClassicalLineFinder())


def test_infer_writes_two_line_subtitles_on_two_lines_in_test_csv_and_on_one_in_submission_csv(
        tmp_path, monkeypatch, grey_background_dir):
    write_pipeline(tmp_path, infer={**default_params()["infer"], "frames_dir": "competition/test",
                                    "csv_line_separator": " / "})
    (tmp_path / "competition/test").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "competition/test/two.png"), frame_with_lines(LINES)[0])
    render_test_splits(tmp_path, ["你說這話是什麼意思", "他們今天晚上不會回來"], classic_config(
        layout={"two_line_prob": 1.0}, **CLEAN, workers=1, use_embedded_backgrounds=False,
        background_dir=str(grey_background_dir), jpeg_quality=[95, 95]))
    recogniser_and_classical_finder(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(REPO / "stages/infer.py"))["main"]()
    out = tmp_path / "data/predictions/finetuned"
    assert (out / "submission.csv").read_text(encoding="utf-8") == f"id,text\ntwo,{LINES[0]} / {LINES[1]}\n"
    for split in ("test", "unseen"):
        truths = {row["key"]: row["text"] for row in read_manifest(tmp_path / "data/synth" / split)}
        assert all("\n" in text for text in truths.values())
        assert read_csv_predictions(out / f"{split}.csv") == truths
    speed = json.loads((tmp_path / "metrics/speed/finetuned.json").read_text())
    assert speed["test"]["frames"] == speed["unseen"]["frames"] == 2


def test_score_reports_every_reader_on_both_test_splits_with_false_readings_and_missed(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    render_test_splits(tmp_path, ["我知道了", "明天見"], classic_config(layout={"empty_prob": 0.5}, workers=1))
    truths = {split: {row["key"]: row["text"] for row in read_manifest(tmp_path / "data/synth" / split)}
              for split in ("test", "unseen")}
    assert all(sorted(map(bool, texts.values())) == [False, True] for texts in truths.values())  # one empty frame each
    readings = {"finetuned": lambda truth: truth, "base": lambda truth: truth or "嗯", "peer": lambda truth: ""}
    for reader, read in readings.items():
        for split, texts in truths.items():
            (tmp_path / "data/predictions" / reader).mkdir(parents=True, exist_ok=True)
            write_csv_predictions(tmp_path / "data/predictions" / reader / f"{split}.csv", list(texts),
                                  [read(text) for text in texts.values()])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(REPO / "stages/score.py"))["main"]()
    scores = json.loads((tmp_path / "metrics/scores.json").read_text())
    assert set(scores) == {"test", "unseen"}
    for split in scores:
        got = {reader: (s["n"], s["false_readings"], s["missed"], s["exact_match"]) for reader, s in scores[split].items()}
        assert got == {"finetuned": (2, 0.0, 0.0, 1.0), "base": (2, 1.0, 0.0, 0.5), "peer": (2, 0.0, 1.0, 0.5)}


def test_infer_failing_after_writing_the_test_predictions_keeps_the_previous_ones(tmp_path, monkeypatch):
    write_pipeline(tmp_path, infer={**default_params()["infer"], "frames_dir": "competition/test"})
    (tmp_path / "competition/test").mkdir(parents=True)  # a folder without a single frame
    render_test_splits(tmp_path, ["我知道了", "明天見"], classic_config(workers=1))
    recogniser_and_classical_finder(tmp_path, monkeypatch)
    out = tmp_path / "data/predictions/finetuned"
    before = previous_output(out, {"test.csv": "id,text\ntest-000000,舊的\ntest-000001,舊的\n"})
    written = []

    def write_and_note(path, ids, texts):
        written.append(path.name)
        write_csv_predictions(path, ids, texts)

    write_csv_predictions = predictions.write_csv_predictions
    monkeypatch.setattr(predictions, "write_csv_predictions", write_and_note)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no .jpg/.png/.webp/.bmp frame"):
        stage["main"]()
    assert written == ["test.csv", "unseen.csv"]  # the failure came after the test predictions were written
    assert files_under(out) == before and not staging_folders(out)
    assert not (tmp_path / "metrics/speed/finetuned.json").exists()  # no timing of predictions that were not kept
