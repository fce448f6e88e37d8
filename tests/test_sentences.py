from __future__ import annotations

import pytest

from zhtw_subtitles.text import sentences
from zhtw_subtitles.core.config import ConfigError, default_config, default_params
from zhtw_subtitles.text.corpora import CorpusSettings, corpus_names, read_corpus
from zhtw_subtitles.text.sentences import (
    SentenceConfig,
    SentenceExtractor,
    split_train_test,
)


def extract(texts, **overrides):
    config = default_config(SentenceConfig, "sentences", **{"space_join_prob": 0.0, **overrides})
    extractor = SentenceExtractor(config, seed=1)
    return extractor.lines(texts), extractor.counts


def test_splits_on_study_punctuation_and_newlines():
    lines, _ = extract(["你好，我是小明。今天很熱！你呢？蘋果、香蕉\n明天見"])
    assert lines == ["你好", "我是小明", "今天很熱", "你呢", "蘋果", "香蕉", "明天見"]


def test_keeps_two_to_seventeen_characters():
    lines, counts = extract(["好，" + "一" * 17 + "，" + "二" * 18 + "，三"])
    assert lines == ["一" * 17]
    assert counts["dropped_too_long"] == 1 and counts["dropped_too_short"] == 2


def test_max_len_is_a_param():
    lines, _ = extract(["今天天氣很好，我們去公園玩吧"], max_len=6)
    assert lines == ["今天天氣很好"]


def test_deduplicates_across_texts():
    lines, counts = extract(["我們走吧。", "我們走吧！", "好的，我們走吧"])
    assert lines == ["我們走吧", "好的"]
    assert counts["dropped_duplicate"] == 2


def test_converts_simplified_to_taiwan_characters_and_vocabulary():
    lines, _ = extract(["这个软件很好用"])
    assert lines == ["這個軟體很好用"]


def test_conversion_can_be_switched_off():
    lines, _ = extract(["这个软件很好用"], opencc_config=None)
    assert lines == ["这个软件很好用"]


def test_half_width_punctuation_splits_too():
    lines, _ = extract(["厨房在哪?我不知道!"])
    assert lines == ["廚房在哪", "我不知道"]


def test_strips_dash_and_numbered_list_prefixes():
    texts = ["- 我們走吧", "1. 打開冰箱\n2)把大象放進去\n（3）關上門", "——等一下"]
    lines, _ = extract(texts, opencc_config=None)
    assert lines == ["我們走吧", "打開冰箱", "把大象放進去", "關上門", "等一下"]
    lines, counts = extract(texts, opencc_config=None, strip_list_markers=False)
    assert lines == ["——等一下"] and counts["dropped_not_chinese"] == 4


def test_drops_speaker_label_pieces():
    lines, counts = extract(["小明：你好嗎？我很好", "A:走吧"])
    assert lines == ["我很好"] and counts["dropped_speaker_label"] == 2
    assert extract(["小明：你好嗎"], drop_speaker_labels=False)[0] == ["小明：你好嗎"]


def test_min_len_is_a_param():
    lines, counts = extract(["好，很好，非常好"], min_len=3)
    assert lines == ["非常好"] and counts["dropped_too_short"] == 2


def test_drops_urls_and_emoji_unless_allowed():
    texts = ["請看www.example.tw", "太好笑了😂", "我們走吧"]
    lines, counts = extract(texts)
    assert lines == ["我們走吧"] and counts["dropped_not_chinese"] == 2
    assert extract(texts, chinese_only=False)[0] == ["請看www.example.tw", "太好笑了😂", "我們走吧"]


def test_space_join_never_crosses_texts_and_batches_change_nothing(monkeypatch):
    texts = [f"我知道了{i}，" for i in "一二三四五六七八九十"] + ["但是不行"] * 3
    assert not any(" " in line for line in extract(texts, space_join_prob=1.0)[0])
    mixed = ["你好，世界。", "，，今天很熱、", "明天見", "Tom好"] * 50 + [f"第{i}句，很好" for i in range(300)]
    expected = extract(mixed, space_join_prob=0.5)
    monkeypatch.setattr(sentences, "BATCH_TEXTS", 7)
    assert extract(mixed, space_join_prob=0.5) == expected


def test_strips_quotes_and_drops_latin():
    lines, counts = extract(["「你好嗎」", "Tom是我的朋友", "（笑了）"])
    assert lines == ["你好嗎", "笑了"]
    assert counts["dropped_not_chinese"] == 1


def test_space_join_makes_taiwanese_caption_lines():
    texts = [f"我知道了{i}，但是不行" for i in "一二三四五六七八九十"]
    lines, counts = extract(texts, space_join_prob=1.0)
    joined = [line for line in lines if " " in line]
    assert joined and all(line.endswith(" 但是不行") for line in joined)
    assert counts["space_joined"] == len(joined)


def test_train_and_test_never_share_a_line_and_ignore_input_order():
    lines = [f"第{i}句話" for i in range(2000)]
    train, test = split_train_test(lines, 0.1, seed=7)
    assert not set(train) & set(test)
    assert set(train) | set(test) == set(lines)
    assert 100 < len(test) < 300
    assert split_train_test(list(reversed(lines)), 0.1, seed=7) == (train, test)
    assert split_train_test(lines, 0.1, seed=8)[1] != test


def test_embedded_corpus_gives_enough_natural_lines():
    lines, _ = extract(read_corpus("embedded", CorpusSettings.from_params(default_params())), space_join_prob=0.15)
    assert len(lines) >= 20_000
    assert all(2 <= len(line) <= 17 for line in lines)


def test_unknown_corpus_lists_valid_names():
    with pytest.raises(ConfigError) as error:
        read_corpus("wikipedia", CorpusSettings.from_params(default_params()))
    for name in corpus_names():
        assert name in str(error.value)


def test_unknown_param_key_is_rejected():
    with pytest.raises(ConfigError, match="max_lenght"):
        default_config(SentenceConfig, "sentences", max_lenght=10)
