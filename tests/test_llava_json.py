from __future__ import annotations

import json

import pytest
from PIL import Image
from test_render import classic_config

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import ConfigError, default_config
from zhtw_subtitles.dataset.llava_json import (
    JsonConfig,
    build_records,
    export_folder,
    read_conversations,
    split_by_text,
    write_json,
)
from zhtw_subtitles.dataset.shards import read_manifest
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.synth.render_split import render_split

STUDY_PROMPTS = (  # the study's three instructions, verbatim
    "請辨認圖片正中間下方的白色字幕，並回傳字幕內容。不要回傳任何字幕本身以外的文字。",
    "請辨認圖片中央底部的白色字幕，然後回傳該字幕的內容。",
    "請提供圖片中央下方的白色字幕，不需其他說明。",
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    backgrounds, _ = find_backgrounds(True, None)
    config = classic_config(workers=1, shard_size=5)
    sentences = [f"第{n}句台詞" for n in "一二三四五六七八九十"]
    render_split("train", sentences, 12, list(embedded_fonts().values()), backgrounds, config, 5, out)
    return out


def test_frames_without_a_subtitle_answer_empty_two_line_cues_keep_their_line_break_and_both_splits_get_some(
        tmp_path):
    backgrounds, _ = find_backgrounds(True, None)
    config = classic_config(layout={"two_line_prob": 0.4, "empty_prob": 0.3}, workers=1, shard_size=50)
    sentences = [f"第{n}句台詞" for n in "一二三四五六七八九十"]
    render_split("train", sentences, 40, list(embedded_fonts().values()), backgrounds, config, 5, tmp_path)
    manifest = read_manifest(tmp_path)
    records = build_records(manifest, STUDY_PROMPTS, seed=5)
    answers = {r["id"]: r["conversations"][1]["value"] for r in records}
    assert answers == {row["key"]: row["text"] for row in manifest}
    assert "" in answers.values() and any("\n" in answer for answer in answers.values())
    write_json(records, tmp_path / "train.json")
    assert read_conversations(tmp_path / "train.json") == {r["id"]: (r["conversations"][0]["value"], answers[r["id"]])
                                                          for r in records}
    train, val = split_by_text(records, 0.3, seed=5)
    empty = lambda rs: [r for r in rs if not r["conversations"][1]["value"]]  # noqa: E731
    assert empty(train) and empty(val)


def test_records_have_the_study_schema(rendered):
    records = build_records(read_manifest(rendered), STUDY_PROMPTS, seed=5)
    assert len(records) == 12
    for record in records:
        assert set(record) == {"id", "image", "conversations"}
        assert record["image"] == f"images/{record['id']}.jpg"
        human, gpt = record["conversations"]
        assert human["from"] == "human" and gpt["from"] == "gpt"
        assert human["value"].startswith("<image>\n")
        assert human["value"].removeprefix("<image>\n") in STUDY_PROMPTS
        assert gpt["value"].startswith("第") and gpt["value"].endswith("句台詞")
    assert len({r["conversations"][0]["value"] for r in records}) > 1  # prompts vary
    assert build_records(read_manifest(rendered), STUDY_PROMPTS, seed=5) == records


def test_default_prompts_are_the_studys_three():
    assert default_config(JsonConfig, "json").prompts == STUDY_PROMPTS
    with pytest.raises(ConfigError, match="json.prompts"):
        default_config(JsonConfig, "json", prompts=[])


def test_validation_split_never_shares_a_subtitle(rendered):
    records = build_records(read_manifest(rendered), STUDY_PROMPTS, seed=5)
    train, val = split_by_text(records, 0.3, seed=5)
    text = lambda rs: {r["conversations"][1]["value"] for r in rs}  # noqa: E731
    assert train and val and not text(train) & text(val)
    assert len(train) + len(val) == len(records)


def test_export_writes_a_folder_llava_trainers_read(rendered, tmp_path):
    records = build_records(read_manifest(rendered), STUDY_PROMPTS, seed=5)
    write_json(records, tmp_path / "train.json")
    count = export_folder(rendered, tmp_path / "train.json", tmp_path / "export")
    assert count == 12
    exported = json.loads((tmp_path / "export" / "train.json").read_text(encoding="utf-8"))
    assert exported == records
    for record in exported:
        with Image.open(tmp_path / "export" / record["image"]) as image:
            assert image.size[0] >= 640


def test_export_of_missing_images_leaves_nothing(rendered, tmp_path):
    records = build_records(read_manifest(rendered), STUDY_PROMPTS, seed=5)
    records.append({**records[0], "id": "train-999999"})
    write_json(records, tmp_path / "train.json")
    with pytest.raises(FileNotFoundError, match="1 image"):
        export_folder(rendered, tmp_path / "train.json", tmp_path / "export")
    assert not (tmp_path / "export").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "train.json"]


def test_atomic_dir_keeps_the_old_output_when_the_block_fails(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as staging:
            (staging / "new.txt").write_text("half")
            raise RuntimeError("stage crashed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]
