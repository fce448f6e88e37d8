"""The learned subtitle-line finder: box post-processing on hand-made probability maps, and a finder fine-tuned once
per session on frames the renderer draws (the default style mix), which must find both lines of a two-line cue,
nothing on an empty frame, and reload from its folder with the same outputs."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from line_finder_fixture import TRAINING, render_frames

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.models.line_boxes import (
    apart,
    boxes_from_probability,
    centred,
    fit_outsets,
    one_cue,
    refined_edges,
)
from zhtw_subtitles.models.line_detector import (
    INT8_ONNX_FILE,
    SETTINGS_FILE,
    LineFinder,
    LineFinderSettings,
    line_logits,
    line_mask,
    load_line_finder,
    load_line_finder_model,
    resize_band,
    to_band_box,
    to_pixel_values,
    torch_probabilities,
)
from zhtw_subtitles.models.onnx_int8 import quantize_int8
from zhtw_subtitles.models.ppocr_det import pretrained_ppocr_v6_small_det
from zhtw_subtitles.reading.band import DEFAULT_BAND
from zhtw_subtitles.training.finetune_line_finder import (
    LineFinderConfig,
    band_lines,
    box_iou,
    cropped,
    line_scores,
    read_bands,
    split_frames,
    train_line_finder,
)
from zhtw_subtitles.training.line_finder_export import FLOAT_LAYERS, export_line_finder

# A hard-edged map at 0.9 crosses 0.45 half-way between pixel centres, on the mask's own edges; an outset of 0.5
# undoes a shrink of 0.25 exactly.
SETTINGS = LineFinderSettings(input_height=128, shrink=0.25, threshold=0.45, min_score=0.75, min_height=2,
                              outset_vertical=0.5, outset_horizontal=0.5, onnx_file="model.onnx")
BOXES = SETTINGS.boxes

def test_two_lines_come_back_as_two_unshrunk_boxes_top_to_bottom():
    lines = [(40.0, 50.0, 200.0, 70.0), (30.0, 20.0, 210.0, 40.0)]  # given bottom line first
    probability = line_mask(lines, (96, 256), SETTINGS.shrink) * 0.9
    boxes = boxes_from_probability(probability, BOXES)
    assert len(boxes) == 2
    for found, expected in zip(boxes, sorted(lines, key=lambda box: box[1])):
        assert np.allclose(found, expected, atol=0.6), (found, expected)


def test_weak_short_or_absent_blobs_give_no_line():
    assert boxes_from_probability(np.zeros((96, 256), np.float32), BOXES) == []
    faint = line_mask([(40, 30, 200, 60)], (96, 256), SETTINGS.shrink) * 0.72  # above threshold, below min_score
    assert boxes_from_probability(faint, BOXES) == []
    sliver = np.zeros((96, 256), np.float32)
    sliver[40, 20:200] = 0.95  # one row high
    assert boxes_from_probability(sliver, BOXES) == []


def test_the_words_of_one_line_join_and_a_far_blob_stays_apart():
    probability = np.zeros((96, 512), np.float32)
    probability[40:52, 20:100] = 0.9
    probability[41:52, 110:200] = 0.9  # the next word, a short gap away on the same line
    probability[40:52, 400:440] = 0.9  # far to the right: another thing, not a line of this subtitle
    boxes = boxes_from_probability(probability, dataclasses.replace(BOXES, outset_vertical=0.0, outset_horizontal=0.0))
    assert [tuple(round(v) for v in box) for box in boxes] == [(20, 40, 200, 52)]


def test_a_low_glyph_s_own_blob_inside_the_line_s_rows_joins_the_line():
    # 一個墨西哥人教了他西班牙文 at 1080p, as the finder saw it: 一 lit an 11-row blob in the 19 rows of the line from
    # 個 on, 14 pixels to its left, and was cut off (read 個墨西哥人...).
    flat = dataclasses.replace(BOXES, outset_vertical=0.0, outset_horizontal=0.0)
    probability = np.zeros((96, 640), np.float32)
    probability[51:70, 146:538] = 0.95
    probability[55:66, 111:132] = 0.9
    assert [tuple(round(v) for v in box) for box in boxes_from_probability(probability, flat)] == [(111, 51, 538, 70)]
    hanging = probability.copy()
    hanging[55:66, 111:132] = 0
    hanging[64:75, 111:132] = 0.9  # as tall, but half below the line's rows: not a part of it
    assert [tuple(round(v) for v in box) for box in boxes_from_probability(hanging, flat)] == [(146, 51, 538, 70)]
    speck = probability.copy()
    speck[55:66, 111:132] = 0
    speck[58:64, 111:132] = 0.9  # 6 rows: under 0.4 of the line, a speck
    assert [tuple(round(v) for v in box) for box in boxes_from_probability(speck, flat)] == [(146, 51, 538, 70)]


def test_a_line_of_a_cue_missing_an_end_grows_back_to_the_cue_s_centre():
    upper = (100.0, 20.0, 300.0, 40.0)  # centred on x = 200
    first_dark = (130.0, 44.0, 290.0, 64.0)  # 一張收據 with 一 left dark: 10 px longer right of the axis than left
    assert centred([upper, first_dark]) == [upper, (110.0, 44.0, 290.0, 64.0)]
    assert centred([(120.0, 0.0, 280.0, 18.0), upper]) == [(120.0, 0.0, 280.0, 18.0), upper]  # centred: as it was
    assert centred([upper, (60.0, 44.0, 250.0, 64.0)]) == [upper, (60.0, 44.0, 300.0, 64.0)]  # never past the widest
    assert centred([first_dark]) == [first_dark]
    probability = line_mask([upper, first_dark], (96, 512), SETTINGS.shrink) * 0.9
    boxes = boxes_from_probability(probability, BOXES)
    assert np.allclose(boxes[1][0], 110.0, atol=0.6) and np.allclose(boxes[1][2], 290.0, atol=0.6), boxes


def test_only_the_lines_of_one_subtitle_are_kept():
    subtitle = [(100.0, 20.0, 300.0, 40.0), (80.0, 44.0, 320.0, 64.0)]  # two centred lines, stacked
    beside = (340.0, 68.0, 380.0, 86.0)  # smaller text below and beside them (a sign, a logo)
    far_above = (120.0, 0.0, 280.0, 8.0)  # a thin line far above
    assert one_cue([*subtitle, beside]) == [subtitle[1], subtitle[0]]
    assert sorted(one_cue([beside, *subtitle, (150.0, 120.0, 250.0, 140.0)])) == sorted(subtitle)  # too far below
    assert one_cue([far_above, subtitle[0]]) == [subtitle[0]]
    assert one_cue([beside]) == [beside]
    off_centre = (100.0, 44.0, 160.0, 64.0)  # under the line's left end, not centred under it
    assert one_cue([subtitle[0], off_centre]) == [subtitle[0]]
    across = (110.0, 30.0, 290.0, 54.0)  # a blob across both lines is not a third line
    assert sorted(one_cue([*subtitle, across])) == sorted(subtitle)
    assert one_cue([subtitle[1], across]) == [subtitle[1]]


def test_the_two_lines_of_a_tight_boxed_cue_are_both_kept():
    # grown boxes of a two-line cue in a dark box (test-000206): the lines touch, so the boxes overlap by a third
    upper, lower = (263.7, 38.1, 325.4, 53.8), (263.7, 48.8, 325.4, 67.3)
    assert sorted(one_cue([upper, lower])) == [upper, lower]


def test_boxes_scale_back_to_the_band_and_stay_inside_it():
    assert to_band_box((10.2, 4.9, 100.0, 20.0), 0.5, (60, 300, 3)) == (20, 9, 200, 40)
    assert to_band_box((-3.0, -1.0, 160.0, 40.0), 0.5, (60, 300, 3)) == (0, 0, 300, 60)


def test_settings_reject_an_input_height_the_backbone_cannot_take():
    with pytest.raises(ConfigError, match="multiple of 32"):
        dataclasses.replace(SETTINGS, input_height=100)


def test_line_logits_are_the_models_output_before_its_sigmoid():
    torch.set_num_threads(2)
    model = pretrained_ppocr_v6_small_det()
    pixels = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = model(pixels).last_hidden_state
        logits = line_logits(model, model.model.backbone(pixels).feature_maps)
    assert torch.allclose(torch.sigmoid(logits), expected, atol=1e-6)


@pytest.fixture(scope="module")
def trained(trained_line_finder):
    return trained_line_finder


def _two_line_bands(root) -> list:
    if not (root / "two_lines").exists():
        render_frames(root / "two_lines", 12, seed=7, two_line_prob=1.0, empty_prob=0.0)
    return list(read_bands(list(read_split(root / "two_lines")), DEFAULT_BAND))


def test_finds_both_lines_of_two_line_cues_and_nothing_on_empty_frames(trained):
    _, root, _, _ = trained
    finder = load_line_finder(root / "finder", threads=2)
    two_line = _two_line_bands(root)
    empty = list(read_bands(render_frames(root / "empty", 8, seed=8, empty_prob=1.0), DEFAULT_BAND))
    assert all(len(band.lines) == 2 for band in two_line) and all(not band.lines for band in empty)
    found = finder.find_lines([band.pixels for band in two_line])
    both = [len(boxes) == 2 and all(box_iou(a, b) >= 0.5 for a, b in zip(boxes, band.lines))
            for boxes, band in zip(found, two_line)]
    assert np.mean(both) >= 0.75, found
    assert all(a[3] <= b[1] for boxes in found for a, b in zip(boxes, boxes[1:]))  # the lines of a cue never overlap
    assert line_scores(finder.find_lines([band.pixels for band in empty]), [[] for _ in empty])[
        "share_empty_with_lines"] == 0.0


def test_outsets_are_measured_on_the_calibration_frames(trained):
    _, _, settings, _ = trained
    nominal = TRAINING["shrink"] / (1 - 2 * TRAINING["shrink"])
    assert (settings.outset_vertical, settings.outset_horizontal) != (nominal, nominal)
    assert 0.2 < settings.outset_vertical < 0.8 and 0.2 < settings.outset_horizontal < 0.8


def test_the_saved_folder_reloads_with_the_same_outputs(trained):
    model, root, saved, _ = trained
    bands = [np.random.default_rng(3).integers(0, 256, (120, 400, 3), dtype=np.uint8), np.full((60, 90, 3), 200, np.uint8)]
    pixels = to_pixel_values([resize_band(band, saved.input_height) for band in bands])
    expected = torch_probabilities(model)(pixels)
    reloaded, settings = load_line_finder_model(root / "finder")
    assert settings == saved
    assert np.array_equal(torch_probabilities(reloaded)(pixels), expected)
    onnx = load_line_finder(root / "finder", threads=2)
    assert np.abs(onnx.probabilities(pixels) - expected).max() < 1e-4
    assert onnx.find_lines(bands) == LineFinder(torch_probabilities(model), saved).find_lines(bands)


def test_the_int8_finder_finds_the_lines_the_float_one_finds(trained):
    model, root, _, calibration = trained
    config = LineFinderConfig(**{**TRAINING, "train_frames": 120, "steps": 100, "train_backbone": False})
    settings, _ = export_line_finder(model, config.settings, True, calibration, root / "int8", threads=2)
    assert settings.onnx_file == INT8_ONNX_FILE
    assert (root / "int8" / INT8_ONNX_FILE).stat().st_size < 0.5 * (root / "int8" / "model.onnx").stat().st_size
    bands = [band.pixels for band in _two_line_bands(root)]
    float_lines = load_line_finder(root / "finder", threads=2).find_lines(bands)
    int8_lines = load_line_finder(root / "int8", threads=2).find_lines(bands)
    same = [len(a) == len(b) and all(box_iou(x, y) >= 0.8 for x, y in zip(a, b)) for a, b in zip(float_lines, int8_lines)]
    assert np.mean(same) >= 0.9, (float_lines, int8_lines)


def test_the_int8_finder_keeps_the_backbone_s_stem_and_first_stage_in_float32(trained):
    import onnx

    _, root, _, calibration = trained
    inputs = [to_pixel_values([resize_band(band.pixels, 128)]) for band in calibration[:2]]
    quantize_int8(root / "finder" / "model.onnx", root / "kept.onnx", "pixel_values", inputs, FLOAT_LAYERS)
    graph = onnx.load(str(root / "kept.onnx")).graph
    made_by = {output: node.op_type for node in graph.node for output in node.output}
    weights = {node.name: made_by.get(node.input[1], "float") for node in graph.node if node.op_type == "Conv"}
    kept = {name: source for name, source in weights.items() if name.startswith(FLOAT_LAYERS)}
    assert kept and set(kept.values()) == {"float"}, kept
    assert {source for name, source in weights.items() if name not in kept} == {"DequantizeLinear"}
    with pytest.raises(ConfigError, match="no nodes named"):
        quantize_int8(root / "finder" / "model.onnx", root / "none.onnx", "pixel_values", inputs, ("/no/such/layer/",))


def test_a_finder_saved_by_an_older_version_says_to_retrain_it(trained):
    _, root, _, _ = trained
    old = {key: value for key, value in json.loads((root / "finder" / SETTINGS_FILE).read_text()).items()
           if not key.startswith("outset")}
    (root / "old").mkdir()
    (root / "old" / SETTINGS_FILE).write_text(json.dumps(old))
    with pytest.raises(ConfigError, match="outset_horizontal.*dvc repro finetune_line_finder"):
        load_line_finder(root / "old")


def test_a_band_is_seen_as_in_training_whatever_its_batch_mates(trained):
    """Training saw each band alone, padded to a multiple of 32. The backbone's squeeze-and-excite blocks average
    over the whole map, so padding a band further (to a wider batch-mate) changes its probabilities everywhere."""
    _, root, settings, _ = trained
    finder = load_line_finder(root / "finder", threads=2)
    bands = [band.pixels for band in _two_line_bands(root)[:3]]
    bands.append(np.concatenate([bands[0], bands[0]], axis=1))  # a band twice as wide
    calls = []

    def recorded(pixel_values):
        calls.append((pixel_values, finder.probabilities(pixel_values)))
        return calls[-1][1]
    batched = LineFinder(recorded, settings).find_lines(bands)
    for band, lines in zip(bands, batched):
        alone = to_pixel_values([resize_band(band, settings.input_height)])
        [(pixels, probability)] = [(p[row], q[row]) for p, q in calls for row in range(len(p))
                                   if np.array_equal(p[row][..., :alone.shape[3]], alone[0])]
        assert pixels.shape == alone[0].shape
        assert np.abs(probability - finder.probabilities(alone)[0]).max() < 1e-5
        assert lines == finder.find_lines([band])[0]


def test_a_missing_folder_names_the_stage_that_makes_it(tmp_path):
    with pytest.raises(ConfigError, match="line_finder holds no line finder: run `dvc repro finetune_line_finder`"):
        load_line_finder(tmp_path / "line_finder")


def test_degenerate_bands_give_no_lines(trained):
    _, root, _, _ = trained
    finder = load_line_finder(root / "finder", threads=2)
    assert finder.find_lines([np.zeros((0, 0, 3), np.uint8), np.zeros((3, 500, 3), np.uint8),
                              np.zeros((40, 200), np.uint8), np.zeros((40, 200, 4), np.uint8)]) == [[], [], [], []]


def test_a_fragment_far_smaller_than_the_line_is_dropped():
    probability = line_mask([(40, 30, 300, 70)], (96, 512), SETTINGS.shrink) * 0.9
    probability[80:86, 400:406] = 0.9  # a lit speck below the line
    boxes = boxes_from_probability(probability, BOXES)
    assert len(boxes) == 1 and np.allclose(boxes[0], (40, 30, 300, 70), atol=0.6)


def test_a_line_mostly_outside_the_band_is_not_in_it():
    meta = {"line_boxes": [[100, 600, 300, 660], [100, 640, 300, 700], [100, 300, 300, 400]]}  # band starts at 650
    assert band_lines(meta, (1000, 800, 3), (0.0, 0.65, 1.0, 1.0)) == [(100, 0, 300, 50)]


def test_a_training_crop_cuts_every_feature_map_at_the_same_place_as_the_mask():
    width, full = 320, 672
    levels = tuple(torch.arange(0, full, stride, dtype=torch.float32).expand(1, 2, 3, -1) for stride in (4, 8, 16, 32))
    mask = torch.from_numpy(np.tile((np.arange(full) // 32).astype(np.uint8), (5, 1)))
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(20):
        cut, cut_mask = cropped(levels, mask, [600.0], width, rng)
        start = int(cut_mask[0, 0]) * 32
        starts.add(start)
        assert cut_mask.shape == (5, width) and start % 32 == 0 and start + width <= full
        assert [int(level[0, 0, 0, 0]) for level in cut] == [start] * 4
        assert [level.shape[3] for level in cut] == [width // stride for stride in (4, 8, 16, 32)]
    assert len(starts) > 2 and full - width in starts  # random places, and the line at 600 lies in some


def test_train_backbone_true_trains_the_backbone_and_false_leaves_it_as_shipped(trained):
    model, root, _, _ = trained
    shipped = pretrained_ppocr_v6_small_det()
    first_conv = "model.backbone.encoder.convolution.stem1.convolution.weight"
    assert torch.equal(model.state_dict()[first_conv], shipped.state_dict()[first_conv])
    frames, _ = split_frames(root / "train", 8, 0)
    config = LineFinderConfig(**{**TRAINING, "train_frames": 8, "calibration_frames": 8, "steps": 2, "batch_size": 4,
                                 "train_backbone": True, "logging_every": 1})
    whole = train_line_finder(config, frames, DEFAULT_BAND, seed=0, live_dir=None)
    assert not torch.equal(whole.state_dict()[first_conv], shipped.state_dict()[first_conv])


def test_an_upright_speck_narrower_than_a_character_is_no_line():
    probability = line_mask([(100, 30, 112, 50)], (96, 256), SETTINGS.shrink) * 0.9  # 12 wide, 20 tall
    assert boxes_from_probability(probability, BOXES) == []
    square = line_mask([(100, 30, 120, 50)], (96, 256), SETTINGS.shrink) * 0.9  # one character: kept
    assert len(boxes_from_probability(square, BOXES)) == 1


def test_edges_fall_where_the_map_crosses_the_threshold_between_pixel_centres():
    probability = np.zeros((40, 60), np.float32)
    probability[10:20, 10:50] = 0.9
    probability[9, 10:50] = 0.6  # the row above rises to 0.6: 0.7 is crossed a third of the way to the next centre
    probability[10:20, 50] = 0.8  # the column after stays above 0.7: the box reaches past it
    left, top, right, bottom = refined_edges(probability, (10, 10, 51, 20), 0.7)
    assert top == pytest.approx(9.5 + 0.1 / 0.3)
    assert bottom == pytest.approx(19.5 + 0.2 / 0.9)
    assert left == pytest.approx(9.5 + 0.7 / 0.9) and right == pytest.approx(50.5 + 0.1 / 0.8)


def test_grown_lines_of_a_cue_meet_half_way_instead_of_overlapping():
    assert apart([(10.0, 0.0, 90.0, 24.0), (12.0, 20.0, 88.0, 44.0)]) == [(10.0, 0.0, 90.0, 22.0), (12.0, 22.0, 88.0, 44.0)]
    apart_already = [(10.0, 0.0, 90.0, 20.0), (12.0, 24.0, 88.0, 44.0)]
    assert apart(apart_already) == apart_already


def test_outsets_are_the_median_growth_from_blob_to_line():
    pairs = [((10.0, 10.0, 110.0, 20.0), (5.0, 5.5, 115.0, 24.5)) for _ in range(4)]  # 10 tall: 4.5 and 5 out
    pairs.append(((10.0, 10.0, 40.0, 20.0), (5.0, 0.0, 115.0, 40.0)))  # a blob on a third of its line
    assert fit_outsets(pairs) == (0.45, 0.5)
