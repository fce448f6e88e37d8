"""The fine-tunable recogniser around the PP-OCRv6 network: Hugging Face saving, ONNX export, the model registry."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont
from test_ppocr_rec import DARK_GREY, WHITE, render_line
from transformers import AutoModelForTextRecognition, PPOCRV6SmallRecForTextRecognition

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.models.ctc import CtcCharset
from zhtw_subtitles.models.ppocr_rec import preprocess, rapidocr_onnx_path
from zhtw_subtitles.models.recognizer import (
    LABEL_PAD,
    SUPPRESSED_BIAS,
    OnnxRecognizer,
    SubtitleRecognizer,
    ctc_loss,
    pretrained_ppocr_v6_small,
)
from zhtw_subtitles.models.registry import (
    BUILT_IN,
    load_base,
    load_for_inference,
    load_saved,
)
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.text.script import simplified_only


def subtitle(text: str):
    return render_line(text, WHITE, DARK_GREY, stroke_width=2)


@pytest.fixture(scope="module")
def base() -> SubtitleRecognizer:
    return pretrained_ppocr_v6_small()


def test_save_pretrained_round_trip_and_onnx_reads_the_same(base, tmp_path):
    pixel_values = preprocess([subtitle("你說這話是什麼意思"), subtitle("謝謝你 明天見")])
    base.save_pretrained(tmp_path)
    base.export_onnx(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "preprocessor_config.json",
                                                   "model.onnx"}
    reloaded = load_saved(tmp_path)
    assert torch.equal(reloaded.net(pixel_values), base.net(pixel_values))
    assert base.read(pixel_values)[0] == "你說這話是什麼意思"
    onnx = load_for_inference(tmp_path)
    assert isinstance(onnx, OnnxRecognizer)
    assert onnx.read(pixel_values) == base.read(pixel_values)


def test_added_characters_grow_the_head_without_changing_old_readings(tmp_path):
    model = pretrained_ppocr_v6_small()
    pixel_values = preprocess([subtitle("你說這話是什麼意思")])
    before = model.read(pixel_values)
    classes = model.charset.num_classes
    model.add_characters(["‧", "你", "‧"])
    assert model.charset.num_classes == classes + 1 and model.charset.encode("‧") == [classes]
    assert model.read(pixel_values) == before
    with torch.no_grad():
        logits = model.net(pixel_values)
    # On every frame the new class scores at most the mean of the old ones: it takes no argmax until trained.
    assert torch.all(logits[..., classes] <= logits[..., :classes].mean(-1) + 1e-5)
    model.save_pretrained(tmp_path)
    reloaded = load_saved(tmp_path)
    assert reloaded.charset.encode("哈利‧波特")[-3] == classes
    assert reloaded.config.head_out_channels == classes + 1 and reloaded.read(pixel_values) == before


def test_saved_folder_loads_with_plain_transformers(base, tmp_path):
    """What docs/model.md shows: the Auto class gives the native model, which reads like the export, and the folder's
    preprocessor_config.json holds the dictionary as transformers' PP-OCR image processor expects it."""
    base.save_pretrained(tmp_path)
    model = AutoModelForTextRecognition.from_pretrained(tmp_path).eval()
    assert type(model) is PPOCRV6SmallRecForTextRecognition
    pixel_values = preprocess([subtitle("你說這話是什麼意思"), subtitle("謝謝你 明天見")])
    with torch.no_grad():
        probabilities = model(pixel_values).last_hidden_state.numpy()
    session = onnxruntime.InferenceSession(str(rapidocr_onnx_path()), providers=["CPUExecutionProvider"])
    assert np.abs(probabilities - session.run(None, {"x": pixel_values.numpy()})[0]).max() < 1e-4
    character_list = json.loads((tmp_path / "preprocessor_config.json").read_text(encoding="utf-8"))["character_list"]
    assert character_list == ["blank", *base.charset.characters]
    assert CtcCharset(character_list[1:]).decode_greedy(torch.from_numpy(probabilities)) == base.read(pixel_values)


def test_ctc_loss_ignores_label_padding(base):
    pixel_values = preprocess([subtitle("明天見"), subtitle("明天見")])
    logits = base.net(pixel_values)
    ids = base.charset.encode("明天見")
    padded = torch.tensor([ids + [LABEL_PAD] * 2, ids + [LABEL_PAD] * 2])
    exact = torch.tensor([ids, ids])
    assert torch.allclose(ctc_loss(logits, padded), ctc_loss(logits, exact))
    assert ctc_loss(logits, exact) < ctc_loss(logits, torch.tensor([base.charset.encode("後天見")] * 2))


def test_unknown_base_lists_the_choices_without_network(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_base("Qwen/Qwen2-VL-2B-Instruct")
    assert all(name in str(error.value) for name in BUILT_IN)
    with pytest.raises(ConfigError, match="model.safetensors"):
        (tmp_path / "config.json").write_text("{}")
        load_saved(tmp_path)


def simplified_subtitle(text: str) -> Image.Image:
    """A white line in Noto Sans CJK TC, whose cmap also holds the Simplified forms that the TC-only faces lack."""
    font = ImageFont.truetype(embedded_fonts()["noto_sans_cjk_tc_bold"].path, 40)
    left, top, right, bottom = font.getbbox(text, stroke_width=2)
    image = Image.new("RGB", (right - left + 16, bottom - top + 16), DARK_GREY)
    ImageDraw.Draw(image).text((8 - left, 8 - top), text, font=font, fill=WHITE, stroke_width=2, stroke_fill=(0, 0, 0))
    return image


def test_simplified_only_keeps_the_forms_taiwan_writes_and_the_training_text():
    assert simplified_only(["们", "們", "给", "余", "于", "台", "丢", "丟", "A", "1", "。"]) == ["们", "给", "丢"]
    assert simplified_only(["们", "给", "丢"], used=["他们走了", "丢"]) == ["给"]


def test_suppressed_characters_are_never_read_even_when_drawn(tmp_path):
    model = pretrained_ppocr_v6_small()
    pixel_values = preprocess([simplified_subtitle("他们给我们说")])
    assert model.read(pixel_values) == ["他们给我们说"]
    suppressed = simplified_only(model.charset.characters)
    assert {"们", "给", "说"} <= set(suppressed) and not {"們", "給", "說", "余"} & set(suppressed)
    model.suppress_characters(suppressed)
    assert model.read(pixel_values) == ["他們給我們說"]
    model.save_pretrained(tmp_path)
    model.export_onnx(tmp_path)
    assert load_for_inference(tmp_path).read(pixel_values) == ["他們給我們說"]
    classes = model.charset.num_classes
    model.add_characters(["‧"])
    assert model.head.head.bias[classes] > SUPPRESSED_BIAS / 2  # a new class can still learn
