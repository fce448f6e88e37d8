"""The fine-tunable recogniser around the PP-OCRv6 network: Hugging Face saving, ONNX export, the model registry."""
from __future__ import annotations

import pytest
import torch
from test_ppocr_rec import DARK_GREY, WHITE, render_line

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.models.ppocr_rec import preprocess
from zhtw_subtitles.models.recognizer import (
    LABEL_PAD,
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


def subtitle(text: str):
    return render_line(text, WHITE, DARK_GREY, stroke_width=2)


@pytest.fixture(scope="module")
def base() -> SubtitleRecognizer:
    return pretrained_ppocr_v6_small()


def test_save_pretrained_round_trip_and_onnx_reads_the_same(base, tmp_path):
    pixel_values = preprocess([subtitle("你說這話是什麼意思"), subtitle("謝謝你 明天見")])
    base.save_pretrained(tmp_path)
    base.export_onnx(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "model.onnx"}
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
    model.save_pretrained(tmp_path)
    assert load_saved(tmp_path).charset.encode("哈利‧波特")[-3] == classes


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
