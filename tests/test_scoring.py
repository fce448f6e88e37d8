from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zhtw_subtitles.dataset.predictions_csv import (
    read_csv_predictions,
    write_csv_predictions,
)
from zhtw_subtitles.scoring.metrics import cer_by_length, empty_frame_rates, normalise, score
from zhtw_subtitles.scoring.worst_sheet import (
    MISSING_HIGHLIGHT,
    char_diff,
    worst_predictions_sheet,
)


def test_one_deletion():
    metrics = score(["你好嗎"], ["你好"])
    assert metrics == {
        "n": 1,
        "cer": round(1 / 3, 6),
        "mean_edit_distance": 1.0,
        "exact_match": 0.0,
        "cer_normalised": round(1 / 3, 6),
        "mean_edit_distance_normalised": 1.0,
        "exact_match_normalised": 0.0,
        "false_readings": None,
        "missed": 0.0,
        "empty_frames": 0,
    }


def test_cer_pools_edits_while_mean_edit_distance_averages_images():
    truths = ["今天天氣很好", "你好"]  # 8 truth characters
    predictions = ["今天天氣真好", "你好你好"]  # 1 substitution, 2 insertions
    metrics = score(truths, predictions)
    assert metrics["cer"] == round(3 / 8, 6)
    assert metrics["mean_edit_distance"] == 1.5
    assert metrics["exact_match"] == 0.0


def test_exact_matches_score_zero():
    metrics = score(["謝謝", "不行"], ["謝謝", "不行"])
    assert metrics["cer"] == 0.0
    assert metrics["mean_edit_distance"] == 0.0
    assert metrics["exact_match"] == 1.0


def test_empty_prediction_counts_every_truth_character():
    metrics = score(["我知道", "好"], ["", "好"])
    assert metrics["cer"] == 0.75
    assert metrics["mean_edit_distance"] == 1.5
    assert metrics["exact_match"] == 0.5


def test_empty_truth_counts_the_prediction_as_insertions():
    metrics = score(["", "你好"], ["不行", "你好"])
    assert metrics["cer"] == 1.0  # 2 insertions over 2 truth characters
    assert metrics["mean_edit_distance"] == 1.0
    assert score(["", "你好嗎"], ["謝", "你好嗎"])["cer"] == round(1 / 3, 6)


def test_all_empty_truths():
    assert score(["", ""], ["", ""])["cer"] == 0.0
    assert score(["", ""], ["", ""])["exact_match"] == 1.0
    assert score(["", ""], ["", "什麼意思"])["cer"] == 1.0
    assert score(["", ""], ["", "什麼意思"])["mean_edit_distance"] == 2.0


def test_false_readings_and_missed_count_frames_with_and_without_a_subtitle():
    truths = ["", "", "", "", "你好", "我知道\n但是不行", "謝謝", "好"]
    predictions = ["", "  ", "嗯", "", "", "我知道\n但是不行", "謝", " "]
    # 4 frames without a subtitle, 1 read as text (whitespace is empty); 4 with one, 2 read as nothing.
    assert empty_frame_rates(truths, predictions) == {"false_readings": 0.25, "missed": 0.5, "empty_frames": 4}
    metrics = score(truths, predictions)
    assert (metrics["false_readings"], metrics["missed"], metrics["empty_frames"]) == (0.25, 0.5, 4)


def test_a_set_without_empty_frames_does_not_measure_false_readings():
    assert empty_frame_rates(["你好", "好"], ["你好", ""]) == {"false_readings": None, "missed": 0.5, "empty_frames": 0}
    assert empty_frame_rates(["", ""], ["", "好"]) == {"false_readings": 0.5, "missed": None, "empty_frames": 2}


def test_a_line_break_is_one_character_in_raw_cer_and_nothing_normalised():
    metrics = score(["我知道\n但是不行"], ["我知道 但是不行"])
    assert metrics["cer"] == round(1 / 8, 6) and metrics["exact_match"] == 0.0
    assert metrics["cer_normalised"] == 0.0 and metrics["exact_match_normalised"] == 1.0


def test_spaces_are_characters_in_raw_cer_but_not_normalised():
    metrics = score([" 你好 "], ["你好"])
    assert metrics["cer"] == round(2 / 4, 6)
    assert metrics["mean_edit_distance"] == 2.0
    assert metrics["cer_normalised"] == 0.0
    assert metrics["exact_match_normalised"] == 1.0


def test_normalised_metrics_forgive_punctuation():
    metrics = score(["你說話什麼意思？", "好，走吧。"], ["你說話什麼意思", "好走吧"])
    assert metrics["exact_match"] == 0.0
    assert metrics["exact_match_normalised"] == 1.0
    assert metrics["cer_normalised"] == 0.0
    assert metrics["mean_edit_distance_normalised"] == 0.0


def test_score_rejects_unpaired_empty_or_missing_input():
    with pytest.raises(ValueError, match="2 truths but 1 predictions"):
        score(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="nothing to score"):
        score([], [])
    with pytest.raises(ValueError, match="must be a str"):
        score(["a"], [float("nan")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好，世界！", "你好世界"),
        ("「不行」、好嗎？……", "不行好嗎"),
        ("我 知道\u3000但是\t不行\n", "我知道但是不行"),
        ("ＡＢＣ１２３", "ABC123"),
        ("第１０集 ~ 100% + $5", "第10集1005"),
        ("", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_cer_by_length_groups_by_truth_length():
    rows = cer_by_length(["你好", "謝謝", "你好嗎", "", "不行"], ["你好", "謝", "你好", "", "不好"])
    assert rows == [
        {"length": 0, "cer": 0.0, "n": 1},
        {"length": 2, "cer": round(2 / 6, 6), "n": 3},
        {"length": 3, "cer": round(1 / 3, 6), "n": 1},
    ]


def test_char_diff_spans():
    assert char_diff("今天天氣很好", "今天天氣真好") == [
        ("equal", "今天天氣", "今天天氣"),
        ("replace", "很", "真"),
        ("equal", "好", "好"),
    ]
    assert char_diff("你好嗎", "你好") == [("equal", "你好", "你好"), ("delete", "嗎", "")]
    assert char_diff("你好", "你好嗎") == [("equal", "你好", "你好"), ("insert", "", "嗎")]
    assert char_diff("", "") == []


# Distinct BGR colours that are never red, so red pixels can only come from the prediction line.
BLUE, GREEN, GREY, TEAL = (200, 80, 0), (0, 160, 0), (128, 128, 128), (160, 160, 0)


def band(bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((16, 64, 3), bgr, np.uint8)  # drawn 640 x 160


def row_geometry(png) -> tuple[int, int]:
    """(top padding, row height) of sheets of 64x16 bands, from the heights of one- and two-row sheets."""
    one = Image.open(png(1)).height
    two = Image.open(png(2)).height
    return one - (two - one), two - one


def test_sheet_height_grows_by_one_row_per_item(tmp_path):
    def png(rows: int):
        path = tmp_path / f"{rows}.png"
        assert worst_predictions_sheet([(band(GREY), "你好嗎", "你好")] * rows, path) == rows
        return path

    padding, row_height = row_geometry(png)
    assert row_height > 160
    assert Image.open(png(3)).height == padding + 3 * row_height
    assert Image.open(png(3)).format == "PNG"


def test_sheet_draws_the_worst_items_first_ties_in_input_order(tmp_path):
    items = [
        (band(BLUE), "你好", "你"),  # 1 edit
        (band(GREEN), "你好嗎", "不行"),  # 3 edits
        (band(GREY), "謝謝", "謝"),  # 1 edit
        (band(TEAL), "好", "好"),  # 0 edits: left out
    ]
    out = tmp_path / "worst.png"
    assert worst_predictions_sheet(items, out, limit=3) == 3

    def png(rows: int):
        path = tmp_path / f"{rows}.png"
        worst_predictions_sheet([(band(GREY), "好", "好")] * rows, path)
        return path

    padding, row_height = row_geometry(png)
    sheet = Image.open(out).convert("RGB")
    assert sheet.height == padding + 3 * row_height
    image_colours = [sheet.getpixel((padding + 320, padding + row * row_height + 80)) for row in range(3)]
    assert image_colours == [(0, 160, 0), (0, 80, 200), (128, 128, 128)]


def red_pixels(image: Image.Image) -> int:
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return int(((pixels[..., 0] > 150) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)).sum())


def highlighted_pixels(image: Image.Image) -> int:
    return int((np.asarray(image.convert("RGB")) == MISSING_HIGHLIGHT).all(axis=-1).sum())


def test_sheet_marks_extra_prediction_characters_red_and_missing_truth_characters(tmp_path):
    def sheet(truth: str, prediction: str) -> Image.Image:
        path = tmp_path / "sheet.png"
        worst_predictions_sheet([(Image.new("RGB", (1280, 720), "grey"), truth, prediction)], path)
        return Image.open(path)

    missing = sheet("你好嗎", "你好")
    assert highlighted_pixels(missing) > 0 and red_pixels(missing) == 0
    extra = sheet("你好", "你好嗎")
    assert red_pixels(extra) > 0 and highlighted_pixels(extra) == 0
    correct = sheet("你好", "你好")
    assert red_pixels(correct) == 0 and highlighted_pixels(correct) == 0


def test_sheet_draws_a_two_line_subtitle_on_one_row(tmp_path):
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    worst_predictions_sheet([(band(GREY), "你好嗎 不行", "你好")], one)
    worst_predictions_sheet([(band(GREY), "你好嗎\n不行", "你好")], two)
    assert Image.open(two).size == Image.open(one).size and highlighted_pixels(Image.open(two)) > 0


def test_sheet_of_nothing_says_so(tmp_path):
    out = tmp_path / "sub" / "worst.png"
    assert worst_predictions_sheet([], out) == 0
    with Image.open(out) as sheet:
        assert sheet.width < 400 and sheet.height < 100
        assert np.asarray(sheet.convert("L")).min() < 128  # some text was drawn
    assert [p.name for p in out.parent.iterdir()] == ["worst.png"]  # no temporary file left behind


def test_csv_round_trip(tmp_path):
    ids = ["frame_0001", "frame_0002", "frame_0003", "frame_0004", "frame_0005"]
    texts = ["你好，世界", 'he said "不行"', "", "a,b,\"c\"", "第１０集"]
    path = tmp_path / "submission.csv"
    write_csv_predictions(path, ids, texts)
    assert path.read_text(encoding="utf-8").splitlines()[:4] == [
        "id,text",
        "frame_0001,你好，世界",
        'frame_0002,"he said ""不行"""',
        "frame_0003,",
    ]
    assert read_csv_predictions(path) == dict(zip(ids, texts))
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


def test_two_line_texts_keep_their_line_break_in_a_quoted_field(tmp_path):
    path = tmp_path / "test.csv"
    write_csv_predictions(path, ["a", "b"], ["我知道\n但是不行", ""])
    assert path.read_text(encoding="utf-8") == 'id,text\na,"我知道\n但是不行"\nb,\n'
    assert read_csv_predictions(path) == {"a": "我知道\n但是不行", "b": ""}


def test_csv_rejects_a_wrong_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("image,prediction\nframe_0001,你好\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv.*header must be exactly 'id,text'"):
        read_csv_predictions(path)
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        read_csv_predictions(path)


def test_csv_rejects_repeated_ids(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,text\nframe_0001,你好\nframe_0002,好\nframe_0001,不行\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dup\.csv line 4: id 'frame_0001' repeats"):
        read_csv_predictions(path)
    with pytest.raises(ValueError, match="frame_0001"):
        write_csv_predictions(tmp_path / "out.csv", ["frame_0001", "frame_0001"], ["a", "b"])
