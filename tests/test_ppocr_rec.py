"""transformers' PP-OCRv6 recogniser, filled from the rapidocr ONNX export, against that export on onnxruntime."""
from __future__ import annotations

import copy
from importlib import resources
from types import SimpleNamespace

import numpy as np
import onnxruntime
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from transformers import (
    PPLCNetV4Config,
    PPOCRV6SmallRecConfig,
    PPOCRV6SmallRecForTextRecognition,
)

from zhtw_subtitles.models.ctc import BLANK_INDEX, CtcCharset, UnknownCharactersError
from zhtw_subtitles.models.ppocr_rec import (
    load_rapidocr_weights,
    preprocess,
    rapidocr_onnx_path,
    recognizer_config,
)
from zhtw_subtitles.models.recognizer import (
    SubtitleRecognizer,
    pretrained_ppocr_v6_small,
)

LINE = "你說這話是什麼意思"
BLACK, WHITE, DARK_GREY = (0, 0, 0), (255, 255, 255), (40, 40, 40)


def render_line(text: str, fill, background, stroke_width: int = 0, font_size: int = 40) -> Image.Image:
    font_path = resources.files("pylopdf_fonts_zh_tw") / "NotoSansTC-Regular.otf"
    font = ImageFont.truetype(str(font_path), font_size)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke_width)
    margin = 8
    image = Image.new("RGB", (right - left + 2 * margin, bottom - top + 2 * margin), background)
    ImageDraw.Draw(image).text(
        (margin - left, margin - top), text, font=font, fill=fill, stroke_width=stroke_width, stroke_fill=BLACK
    )
    return image


@pytest.fixture(scope="module")
def loaded() -> tuple[SubtitleRecognizer, CtcCharset]:
    torch.set_num_threads(2)
    model = pretrained_ppocr_v6_small()
    return model, model.charset


@pytest.fixture(scope="module")
def session() -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(str(rapidocr_onnx_path()), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def subtitle_lines() -> list[Image.Image]:
    return [render_line(LINE, BLACK, WHITE), render_line(LINE, WHITE, DARK_GREY, stroke_width=3)]


def random_batch(batch: int, width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(width)
    return torch.rand(batch, 3, 48, width, generator=generator) * 2 - 1


@pytest.mark.parametrize("batch, width", [(2, 320), (1, 97), (3, 517)])
def test_matches_onnxruntime_on_noise(loaded, session, batch, width):
    model, _ = loaded
    images = random_batch(batch, width)
    with torch.no_grad():
        probabilities = model.net(images).softmax(-1).numpy()
    expected = session.run(None, {"x": images.numpy()})[0]
    assert probabilities.shape == expected.shape
    assert np.abs(probabilities - expected).max() < 1e-4


def test_matches_onnxruntime_on_rendered_lines(loaded, session, subtitle_lines):
    model, _ = loaded
    images = preprocess(subtitle_lines)
    with torch.no_grad():
        # The native forward: what plain transformers computes, softmax included.
        probabilities = PPOCRV6SmallRecForTextRecognition.forward(model, images).last_hidden_state.numpy()
    expected = session.run(None, {"x": images.numpy()})[0]
    assert probabilities.shape == expected.shape
    assert np.abs(probabilities - expected).max() < 1e-4


def test_preprocess_matches_rapidocr(subtitle_lines):
    from rapidocr.ch_ppocr_rec.main import TextRecognizer

    images = [*subtitle_lines, Image.new("RGB", (40, 30), (90, 160, 220))]
    rapidocr = SimpleNamespace(rec_image_shape=[3, 48, 320])
    max_ratio = max(320 / 48, *(image.width / image.height for image in images))
    # rapidocr's LoadImage turns PIL's RGB into OpenCV's BGR before recognition.
    expected = np.stack(
        [TextRecognizer.resize_norm_img(rapidocr, np.asarray(image)[:, :, ::-1].copy(), max_ratio) for image in images]
    )
    assert np.array_equal(preprocess(images).numpy(), expected)


def test_preprocess_caps_width_by_squeezing():
    wide = Image.new("RGB", (1000, 50), WHITE)
    narrow = Image.new("RGB", (50, 50), BLACK)
    batch = preprocess([wide, narrow], max_width=400)
    assert batch.shape == (2, 3, 48, 400)
    assert torch.all(batch[0] == 1.0)  # squeezed to the full width, no padding
    assert torch.all(batch[1, :, :, :48] == -1.0) and torch.all(batch[1, :, :, 48:] == 0.0)


@pytest.mark.parametrize("line_index", [0, 1], ids=["black_on_white", "white_stroked_on_dark"])
def test_reads_rendered_subtitle_line(loaded, subtitle_lines, line_index):
    model, charset = loaded
    with torch.no_grad():
        logits = model(preprocess([subtitle_lines[line_index]])).logits
    assert charset.decode_greedy(logits) == [LINE]


def test_charset_matches_head_and_rapidocr_layout(loaded):
    model, charset = loaded
    assert charset.num_classes == model.head.head.out_features == model.config.head_out_channels == 18710
    assert charset.characters[-1] == " " and charset.encode("!") == [1]


def test_ctc_round_trip_over_whole_dictionary(loaded):
    _, charset = loaded
    text = "".join(charset.characters)
    ids = charset.encode(text)
    assert ids == list(range(1, charset.num_classes))
    # A CTC path repeats each label over several frames; adjacent different labels need no blank between them.
    path = [BLANK_INDEX] + [class_id for class_id in ids for _ in range(1 + class_id % 3)] + [BLANK_INDEX]
    assert charset.decode_path(path) == text


def test_ctc_repeated_characters_need_a_blank(loaded):
    _, charset = loaded
    thanks = charset.encode("謝謝")
    assert thanks[0] == thanks[1]
    assert charset.decode_path([thanks[0], thanks[0], thanks[0]]) == "謝"
    assert charset.decode_path([thanks[0], BLANK_INDEX, thanks[0], thanks[0]]) == "謝謝"
    scores = F.one_hot(torch.tensor([[thanks[0], BLANK_INDEX, thanks[0], BLANK_INDEX]]), charset.num_classes)
    assert charset.decode_greedy(scores) == ["謝謝"]


def test_encode_reports_unknown_characters(loaded):
    _, charset = loaded
    with pytest.raises(UnknownCharactersError) as error:
        charset.encode("哈利‧波特한‧")  # U+2027 (Taiwanese name separator) and Hangul have no class
    assert error.value.unknown == ("‧", "한")
    assert "U+2027" in str(error.value)
    assert charset.unknown_characters("你好") == []


def test_charset_rejects_duplicate_characters():
    with pytest.raises(ValueError, match="more than once"):
        CtcCharset(["a", "b", "a"])


def ctc_loss(logits: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    log_probs = logits.log_softmax(dim=-1).transpose(0, 1)  # T x N x C
    input_lengths = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long)
    return F.ctc_loss(
        log_probs,
        torch.tensor([class_id for target in targets for class_id in target]),
        input_lengths,
        torch.tensor([len(target) for target in targets]),
        blank=BLANK_INDEX,
    )


def test_adam_steps_lower_ctc_loss(loaded, subtitle_lines):
    model, charset = loaded
    model = copy.deepcopy(model).train()
    images = preprocess(subtitle_lines)
    targets = [charset.encode("謝謝你們")] * len(subtitle_lines)  # a new label, so there is something to learn
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = ctc_loss(model(images).logits, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(parameter.grad is not None for parameter in model.parameters())
    assert all(torch.isfinite(parameter.grad).all() for parameter in model.parameters())
    assert model.model.backbone.encoder.convolution.stem1.convolution.weight.grad.abs().sum() > 0
    assert losses[-1] < 0.5 * losses[0], losses


def test_frozen_batchnorm_keeps_eval_behaviour_in_train_mode(loaded, subtitle_lines):
    model, _ = loaded
    images = preprocess(subtitle_lines)
    with torch.no_grad():
        eval_logits = model(images).logits
        frozen = copy.deepcopy(model).train()
        frozen_logits = frozen(images).logits
        batch_stats = torch.nn.Module.train(copy.deepcopy(model))  # what training would do without the freeze
        batch_stat_logits = batch_stats(images).logits
    assert torch.allclose(frozen_logits, eval_logits, atol=1e-5)
    assert not torch.allclose(batch_stat_logits, eval_logits, atol=1e-3)
    skip_norm = "head.encoder.conv_block.0.normalization.running_mean"
    assert torch.equal(frozen.state_dict()[skip_norm], model.state_dict()[skip_norm])
    assert not torch.equal(batch_stats.state_dict()[skip_norm], model.state_dict()[skip_norm])


def unloaded_native(config: PPOCRV6SmallRecConfig) -> PPOCRV6SmallRecForTextRecognition:
    model = PPOCRV6SmallRecForTextRecognition(config)
    model.head.encoder.norm.eps = 1e-6  # the export's final LayerNorm
    return model


def test_loading_names_a_parameter_whose_shape_differs():
    expected = r"head\.head\.weight is \(18714, 120\) but .*linear_8\.w_0 gives \(18710, 120\)"
    with pytest.raises(ValueError, match=expected):
        load_rapidocr_weights(unloaded_native(recognizer_config(18714)))


def test_loading_names_a_layer_whose_epsilon_differs():
    # The native default layer_norm_eps (1e-6) is not the 1e-5 of Paddle's SVTR blocks.
    with pytest.raises(ValueError, match=r"svtr_block\.0\.layer_norm1 .*epsilon 1e-06, the graph uses 1e-05"):
        load_rapidocr_weights(unloaded_native(PPOCRV6SmallRecConfig(head_out_channels=18710)))


def test_loading_names_parameters_the_export_has_no_weights_for():
    config = recognizer_config(18710)
    config.backbone_config = PPLCNetV4Config(use_learnable_affine_block=True)  # scale and bias after each stem ReLU
    with pytest.raises(ValueError, match=r"no graph weight for .*convolution\.stem1\.lab\.bias"):
        load_rapidocr_weights(unloaded_native(config))
