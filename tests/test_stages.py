"""Stage entry points in-process, for inputs the real corpora cannot produce."""
from __future__ import annotations

import itertools
import runpy
from pathlib import Path

import pytest
import yaml

from zhtw_subtitles.core import io
from zhtw_subtitles.core.config import ConfigError, default_config, default_params
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.reading import predictions
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


def test_infer_on_an_empty_test_set_is_a_clear_error(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\n")
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no frames"):
        stage["main"]()


def test_infer_without_a_trained_model_says_how_to_get_one(tmp_path, monkeypatch):
    write_pipeline(tmp_path)
    (tmp_path / "data/synth/test").mkdir(parents=True)
    (tmp_path / "data/synth/test/manifest.csv").write_text("key,shard,text,font,font_size,width,height\nk,0,字,a,1,1,1\n")
    (tmp_path / "models/recognizer").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    stage = runpy.run_path(str(REPO / "stages/infer.py"))
    with pytest.raises(ConfigError, match="holds no saved model: run `dvc repro finetune` or `dvc pull`"):
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


def test_infer_failing_after_writing_the_test_predictions_keeps_the_previous_ones(tmp_path, monkeypatch):
    write_pipeline(tmp_path, infer={**default_params()["infer"], "frames_dir": "competition/test"})
    (tmp_path / "competition/test").mkdir(parents=True)  # a folder without a single frame
    backgrounds, _ = find_backgrounds(True, None)
    (tmp_path / "data/synth/test").mkdir(parents=True)
    render_split("test", ["我知道了", "明天見"], 2, list(embedded_fonts().values()), backgrounds,
                 default_config(RenderConfig, "render", workers=1), 0, tmp_path / "data/synth/test")
    pretrained_ppocr_v6_small().save_pretrained(tmp_path / "models/recognizer")
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
    assert written == ["test.csv"]  # the failure came after the test predictions were written
    assert files_under(out) == before and not staging_folders(out)
    assert not (tmp_path / "metrics/speed/finetuned.json").exists()  # no timing of predictions that were not kept
