from __future__ import annotations

import pytest
from corpus_fixtures import (
    ASS,
    ASS_LINES,
    CORRECTION_RECORDS,
    PARQUET_ROWS,
    SRT,
    SRT_LINES,
    SSA,
    SSA_LINES,
    VTT,
    VTT_LINES,
    write_hub_corpus,
    write_parquet,
)

from zhtw_subtitles.core.config import ConfigError, default_config, default_params
from zhtw_subtitles.text.corpora import (
    CorpusSettings,
    corpus_names,
    open_corpus,
    read_corpus,
)
from zhtw_subtitles.text.extraction import extract_lines, mix_lines
from zhtw_subtitles.text.hub_corpora import HUB_CORPORA
from zhtw_subtitles.text.sentences import SentenceConfig


def corpus_settings(corpus_dir=None, mix=None, **files) -> CorpusSettings:
    """params.yaml's corpus_dir, corpus_mix and corpus_files, with those given here replaced (`files`: corpus_files keys)."""
    params = default_params()
    return CorpusSettings.from_params({
        "corpus_dir": str(corpus_dir or params["corpus_dir"]),
        "corpus_mix": params["corpus_mix"] if mix is None else mix,
        "corpus_files": {**params["corpus_files"], **files},
    })


def texts(name, corpus_dir):
    return list(read_corpus(name, corpus_settings(corpus_dir)))


def file_texts(tmp_path, **config):
    return list(read_corpus("files", corpus_settings(**{"paths": [str(tmp_path)], **config})))


def extract(name, settings, **overrides):
    config = default_config(SentenceConfig, "sentences", **{"space_join_prob": 0.0, **overrides})
    return extract_lines(open_corpus(name, settings), config, seed=1)


@pytest.mark.parametrize("name", ["multiturn_chat", "train_1m"])
def test_alpaca_corpora_read_the_output_column(tmp_path, name):
    write_hub_corpus(tmp_path, name)
    assert texts(name, tmp_path) == [row["output"] for row in PARQUET_ROWS[name]]


def test_dolly_reads_the_response_column(tmp_path):
    write_hub_corpus(tmp_path, "dolly_15k")
    assert texts("dolly_15k", tmp_path) == [PARQUET_ROWS["dolly_15k"][0]["response"]]


def test_error_correction_reads_correct_from_alpha_beta_gamma(tmp_path):
    write_hub_corpus(tmp_path, "zhtw_error_correction")
    assert texts("zhtw_error_correction", tmp_path) == [r["correct"] for rs in CORRECTION_RECORDS.values() for r in rs]


def test_generated_chat_keeps_what_follows_the_speaker_with_either_colon(tmp_path):
    write_hub_corpus(tmp_path, "generated_chat")
    assert texts("generated_chat", tmp_path) == ["你今天要去哪裡？", "我要去圖書館看書。", "那我們一起去吧！"]
    lines, counts = extract("generated_chat", corpus_settings(tmp_path))
    assert lines == ["你今天要去哪裡", "我要去圖書館看書", "那我們一起去吧"]
    assert counts["dropped_speaker_label"] == 0


def test_colon_pieces_of_other_corpora_are_dropped_as_speaker_labels(tmp_path):
    write_parquet(tmp_path / "multiturn_chat/data/train-0.parquet", [{"output": "小明：你今天要去哪裡？我很好。"}])
    lines, counts = extract("multiturn_chat", corpus_settings(tmp_path))
    assert lines == ["我很好"] and counts["dropped_speaker_label"] == 1


def test_missing_hub_files_name_every_expected_path_and_the_fetch_command(tmp_path):
    (tmp_path / "zhtw_error_correction/alpha").mkdir(parents=True)
    (tmp_path / "zhtw_error_correction/alpha/out.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        open_corpus("zhtw_error_correction", corpus_settings(tmp_path))
    message = str(error.value)
    assert f"{tmp_path}/zhtw_error_correction/beta/out.jsonl, {tmp_path}/zhtw_error_correction/gamma/out.jsonl" in message
    assert "alpha/out.jsonl," not in message.split("nothing is at")[1].split(".")[0]
    assert "python -m zhtw_subtitles.text.download_corpus zhtw_error_correction" in message
    assert f"dvc add {tmp_path}/zhtw_error_correction" in message


def test_every_hub_corpus_names_its_missing_layout(tmp_path):
    for name, corpus in HUB_CORPORA.items():
        with pytest.raises(ConfigError, match=f"reads Hugging Face dataset {corpus.repo_id}"):
            open_corpus(name, corpus_settings(tmp_path))


def test_parquet_without_the_expected_column_fails_naming_the_columns_it_has(tmp_path):
    write_parquet(tmp_path / "dolly_15k/data/train-0.parquet", [{"instruction": "問", "answer": "答"}])
    with pytest.raises(ConfigError, match=r"has no column 'response' \(it has: instruction, answer\); is this "
                                          r"erhwenkuo/dolly-15k-chinese-zhtw's layout"):
        texts("dolly_15k", tmp_path)


def test_jsonl_record_without_the_field_names_file_and_line(tmp_path):
    write_hub_corpus(tmp_path, "zhtw_error_correction")
    (tmp_path / "zhtw_error_correction/beta/out.jsonl").write_text('{"correct": "好"}\n{"incorrect": "壞"}\n')
    with pytest.raises(ConfigError, match=r"beta/out.jsonl, line 2, has no column 'correct' \(it has: incorrect\)"):
        texts("zhtw_error_correction", tmp_path)


def test_unknown_corpus_lists_every_valid_name():
    with pytest.raises(ConfigError) as error:
        open_corpus("wikipedia", corpus_settings())
    assert str(error.value) == f"unknown corpus 'wikipedia'; valid names: {', '.join(corpus_names())}"
    assert {"embedded", "multiturn_chat", "zhtw_error_correction", "generated_chat", "train_1m", "dolly_15k",
            "files", "mix"} <= set(corpus_names())


def test_srt_with_bom_and_crlf_gives_one_text_per_screen_line(tmp_path):
    (tmp_path / "ep01.srt").write_bytes(b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode("utf-8"))
    assert file_texts(tmp_path) == SRT_LINES


def test_big5_srt_is_decoded(tmp_path):
    (tmp_path / "ep02.srt").write_bytes(SRT.encode("big5"))
    assert file_texts(tmp_path) == SRT_LINES


def test_undecodable_file_fails_naming_it_and_the_encoding_param(tmp_path):
    (tmp_path / "broken.srt").write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(ConfigError, match=r"cannot tell the encoding of .*broken.srt.*corpus_files.encoding"):
        file_texts(tmp_path)


def test_wrong_explicit_encoding_fails_clearly(tmp_path):
    (tmp_path / "ep02.srt").write_bytes(SRT.encode("big5"))
    with pytest.raises(ConfigError, match=r"ep02.srt is not utf-8 .*corpus_files.encoding"):
        file_texts(tmp_path, encoding="utf-8")


def test_ass_drops_comments_drawings_and_style_tags(tmp_path):
    (tmp_path / "show.ass").write_text(ASS, encoding="utf-8")
    assert file_texts(tmp_path) == ASS_LINES


def test_ssa_and_vtt(tmp_path):
    (tmp_path / "a.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "b.ssa").write_text(SSA, encoding="utf-8")
    assert file_texts(tmp_path) == VTT_LINES + SSA_LINES


def test_txt_and_empty_files(tmp_path):
    (tmp_path / "lines.txt").write_text("\ufeff第一句\r\n\r\n阿明：第二句\r\n", encoding="utf-8")
    (tmp_path / "empty.srt").write_bytes(b"")
    (tmp_path / "empty.txt").write_bytes(b"")
    assert file_texts(tmp_path) == ["第一句", "第二句"]


def test_speaker_labels_stay_when_dialogue_is_off(tmp_path):
    (tmp_path / "lines.txt").write_text("阿明：第二句\n", encoding="utf-8")
    assert file_texts(tmp_path, dialogue=False) == ["阿明：第二句"]


def test_tables_read_the_named_text_column(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "第一句", "id": 1}\n\n{"text": "第二句"}\n', encoding="utf-8")
    (tmp_path / "b.csv").write_bytes("id,text\r\n1,第三句\r\n2,\"第四句，還有\"\r\n".encode("utf-8-sig"))
    write_parquet(tmp_path / "c.parquet", [{"line": "第五句"}, {"line": None}])
    assert file_texts(tmp_path, text_column="text", paths=(f"{tmp_path}/*.jsonl", f"{tmp_path}/*.csv")) == [
        "第一句", "第二句", "第三句", "第四句，還有"]
    assert file_texts(tmp_path, text_column="line", paths=(str(tmp_path / "c.parquet"),)) == ["第五句"]
    with pytest.raises(ConfigError, match=r"b.csv has no column 'line' \(it has: id, text\); set corpus_files.text_column"):
        file_texts(tmp_path, text_column="line", paths=(str(tmp_path / "b.csv"),))


def test_missing_or_empty_file_paths_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match="corpus_files.paths: .*nowhere does not exist"):
        file_texts(tmp_path, paths=(str(tmp_path / "nowhere"),))
    with pytest.raises(ConfigError, match="holds no .srt"):
        file_texts(tmp_path)


def test_opencc_converts_corpora_not_already_zh_tw(tmp_path):
    (tmp_path / "subs.txt").write_text("这个软件很好用\n", encoding="utf-8")
    write_parquet(tmp_path / "dolly_15k/data/train-0.parquet", [{"response": "这个软件很好用"}])
    files = corpus_settings(paths=[str(tmp_path / "subs.txt")])
    assert extract("files", files)[0] == ["這個軟體很好用"]
    hub = corpus_settings(tmp_path)
    assert extract("dolly_15k", hub)[0] == ["这个软件很好用"]
    assert extract("dolly_15k", hub, convert_zh_tw=True)[0] == ["這個軟體很好用"]
    assert extract("files", corpus_settings(paths=files.files.paths, zh_tw=True))[0] == [
        "这个软件很好用"]


def test_mix_follows_the_weights_and_the_seed():
    per_source = [("chat", [f"對話{i}" for i in range(1000)], 0.7), ("subs", [f"字幕{i}" for i in range(100)], 0.3)]
    lines, stats = mix_lines(per_source, seed=1)
    assert stats["subs"] == {"weight": 0.3, "lines_distinct": 100, "lines_mixed": 100}
    assert stats["chat"]["lines_mixed"] == 233 and len(lines) == 333
    assert mix_lines(per_source, seed=1) == (lines, stats)
    assert set(mix_lines(per_source, seed=2)[0]) != set(lines)


def test_mixed_corpus_counts_each_line_once(tmp_path):
    write_hub_corpus(tmp_path, "dolly_15k")
    (tmp_path / "subs.txt").write_text("小森田智昭出生於熊本縣\n我們走吧\n好的\n", encoding="utf-8")
    settings = corpus_settings(tmp_path, {"dolly_15k": 1, "files": 1}, paths=[str(tmp_path / "subs.txt")])
    lines, counts = extract("mix", settings)
    assert counts["sources"]["files"]["lines_distinct"] == 2  # one of its lines came from dolly_15k already
    assert len(lines) == len(set(lines)) == 4 and counts["lines_kept"] == 4


@pytest.mark.parametrize("mix, message", [
    ({}, "corpus: mix needs corpus_mix"),
    ({"dolly_15k": 0}, "corpus_mix.dolly_15k must be a positive weight"),
    ({"wikipedia": 1}, "unknown corpus 'wikipedia' in corpus_mix; valid names: dolly_15k"),
])
def test_bad_mix_fails_at_once(mix, message):
    with pytest.raises(ConfigError, match=message):
        open_corpus("mix", corpus_settings(mix=mix))


def test_unknown_corpus_files_key_is_rejected():
    with pytest.raises(ConfigError, match="text_colum"):
        corpus_settings(text_colum="x")
