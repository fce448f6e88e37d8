"""Time-matched scores of predicted cues against reference cues."""
from __future__ import annotations

import pytest

from zhtw_subtitles.scoring.timed import match_cues, temporal_iou, timed_counts, timed_scores
from zhtw_subtitles.video.cues import Cue

REFERENCE = [
    Cue(1.0, 3.0, "我們明天見"),
    Cue(3.5, 4.0, "好"),
    Cue(5.0, 7.0, "你說話什麼意思\n我知道但是不行"),
]


def test_temporal_iou():
    assert temporal_iou(Cue(0, 2, ""), Cue(1, 3, "")) == pytest.approx(1 / 3)
    assert temporal_iou(Cue(0, 1, ""), Cue(1, 2, "")) == 0.0
    assert temporal_iou(Cue(0, 2, ""), Cue(0, 2, "")) == 1.0


def test_perfect_prediction_scores_zero_error():
    scores = timed_scores(REFERENCE, REFERENCE)
    assert scores["cer"] == 0.0 and scores["cue_recall"] == 1.0 and scores["cue_precision"] == 1.0
    assert scores["start_error_ms"] == 0.0 and scores["end_error_ms"] == 0.0 and scores["line_layout"] == 1.0


def test_each_reference_matches_at_most_one_prediction():
    # Two predictions overlap the first cue by IoU >= 0.5 each: only the better one is its match, the other is spurious.
    predicted = [Cue(1.0, 3.0, "我們明天見"), Cue(1.2, 2.9, "我們明天見")]
    assert match_cues(REFERENCE[:1], predicted) == [(0, 0)]
    scores = timed_scores(REFERENCE[:1], predicted)
    assert scores["cue_precision"] == 0.5 and scores["cue_recall"] == 1.0
    assert scores["cer"] == pytest.approx(5 / 5)  # the spurious cue's five characters count as insertions


def test_low_overlap_is_no_match_and_counts_both_texts():
    # IoU 0.25: the reference is missed (5 deletions) and the prediction is spurious (5 insertions).
    scores = timed_scores([Cue(0, 2, "我們明天見")], [Cue(1.5, 2.5, "我們明天見")])
    assert scores["matched_cues"] == 0 and scores["cue_recall"] == 0.0
    assert scores["cer"] == pytest.approx(10 / 5)
    assert scores["start_error_ms"] is None


def test_errors_in_ms_cer_and_layout():
    predicted = [
        Cue(1.04, 2.96, "我們明夭見"),  # one misread character, 40 ms late, 40 ms early
        Cue(5.0, 7.08, "你說話什麼意思我知道但是不行"),  # right characters on one line, 80 ms late
    ]
    scores = timed_scores(REFERENCE, predicted)
    assert scores["matched_cues"] == 2
    assert scores["cue_recall"] == pytest.approx(2 / 3) and scores["cue_precision"] == 1.0
    # 1 substitution + the missed 好; the line break is layout, not a character.
    assert scores["cer"] == pytest.approx(2 / 20)
    assert scores["start_error_ms"] == pytest.approx(20.0)
    assert scores["end_error_ms"] == pytest.approx(60.0)
    assert scores["line_layout"] == 0.5


def test_normalised_cer_forgives_punctuation_width():
    scores = timed_scores([Cue(0, 1, "真的嗎？")], [Cue(0, 1, "真的嗎?")])
    assert scores["cer"] == pytest.approx(1 / 4) and scores["cer_normalised"] == 0.0


def test_counts_of_several_videos_pool():
    first = timed_counts(REFERENCE, REFERENCE)
    second = timed_counts([Cue(0, 1, "好")], [])
    pooled = (first + second).scores()
    assert pooled["reference_cues"] == 4 and pooled["matched_cues"] == 3
    assert pooled["cue_recall"] == 0.75
    assert pooled["cer"] == pytest.approx(1 / 21)


def test_nothing_to_score():
    scores = timed_scores([], [])
    assert scores["cer"] is None and scores["cue_recall"] is None and scores["cue_precision"] is None
