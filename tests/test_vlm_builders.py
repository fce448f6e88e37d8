"""The locally built VLMs: the character tokenizer and chat template, the tiny models of real architectures, and
subtitle_vlm_cpu, each saved, reloaded offline with the Auto classes, run forward with labels and generating."""
from __future__ import annotations

import math

import huggingface_hub
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont
from transformers import AutoModelForImageTextToText

from zhtw_subtitles.models.char_tokenizer import END_OF_TURN, build_char_tokenizer
from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small
from zhtw_subtitles.models.subtitle_vlm import (
    SubtitleLineEncoderConfig,
    build_subtitle_vlm,
)
from zhtw_subtitles.models.vlm_models import load_processor
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.testing.tiny_vlms import (
    TINY_ARCHITECTURES,
    build_tiny_vlm,
    config_and_processor,
)
from zhtw_subtitles.text.sentences import is_han

SENTENCES = ["我知道，但是不行！", "這是一個國際學校。", "你說話什麼意思？ 第１２３集"]
CHARACTERS = sorted({c for sentence in SENTENCES for c in sentence})
ANSWER = "這是一個 國際學校。"
PROMPT = "讀出字幕"
# Narrower lines and a smaller decoder than subtitle_vlm_cpu's defaults keep its tests fast.
SUBTITLE_VLM_SIZES = {"input_width": 320, "hidden_size": 128, "num_hidden_layers": 2, "intermediate_size": 128}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read once, when the hub is imported


def subtitle_band(text: str = "這是一個國際學校", width: int = 1920, height: int = 378) -> Image.Image:
    """A dark, grainy band with a white, black-outlined subtitle line, the way TV subtitles look."""
    grain = np.random.default_rng(0).normal(70, 20, (height, width, 3))
    band = Image.fromarray(np.clip(grain, 0, 255).astype(np.uint8))
    font = ImageFont.truetype(str(embedded_fonts()["noto_sans_tc"].path), 64)
    ImageDraw.Draw(band).text((width // 2, height // 2), text, font=font, anchor="mm", fill="white",
                              stroke_width=4, stroke_fill="black")
    return band


def conversation(answer: str | None = ANSWER) -> list[dict]:
    user = {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}
    if answer is None:
        return [user]
    return [user, {"role": "assistant", "content": [{"type": "text", "text": answer}]}]


def load(folder):
    return AutoModelForImageTextToText.from_pretrained(folder), load_processor(str(folder), trust_remote_code=False)


def check_trains_and_generates(model, processor, image: Image.Image) -> None:
    text = processor.apply_chat_template(conversation(), tokenize=False)
    batch = processor(text=[text], images=[image], return_tensors="pt")
    loss = model(**batch, labels=batch["input_ids"].clone()).loss
    assert torch.isfinite(loss)
    loss.backward()

    prompt = processor.apply_chat_template(conversation(None), tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[image], return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert 0 < generated.shape[1] - inputs["input_ids"].shape[1] <= 5


def test_char_tokenizer_round_trip_keeps_spaces():
    tokenizer = build_char_tokenizer(CHARACTERS)
    text = "這是 一個  國際學校。 ok, 1+1=2 ！"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert len(ids) == len(text)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(tokenizer.encode("火車" + END_OF_TURN, add_special_tokens=False),
                            skip_special_tokens=True) == ""  # unknown characters are unk, a special token


def test_chat_template_ends_every_turn_and_marks_the_answer():
    tokenizer = build_char_tokenizer(CHARACTERS, ("<image>",), "<image>")
    assert tokenizer.apply_chat_template(conversation(), tokenize=False) == \
        f"<|user|><image>{PROMPT}<|im_end|><|assistant|>{ANSWER}<|im_end|>"
    assert tokenizer.apply_chat_template(conversation(None), tokenize=False, add_generation_prompt=True) == \
        f"<|user|><image>{PROMPT}<|im_end|><|assistant|>"
    encoded = tokenizer.apply_chat_template(conversation(), return_dict=True, return_assistant_tokens_mask=True)
    answer_ids = [token for token, mask in zip(encoded["input_ids"], encoded["assistant_masks"]) if mask]
    assert tokenizer.decode(answer_ids) == ANSWER + END_OF_TURN


@pytest.mark.parametrize("architecture", TINY_ARCHITECTURES)
def test_tiny_vlm_reloads_trains_and_generates(architecture, tmp_path):
    folder = build_tiny_vlm(architecture, tmp_path / architecture, SENTENCES, seed=0)
    model, processor = load(folder)
    tokenizer = processor.tokenizer
    assert model.config.get_text_config().vocab_size == len(tokenizer)
    end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN if END_OF_TURN in tokenizer.get_vocab() else tokenizer.eos_token)
    assert end_of_turn in model.generation_config.eos_token_id and None not in model.generation_config.eos_token_id
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id is not None
    image_token_id = tokenizer.convert_tokens_to_ids(processor.image_token)
    assert model.config.image_token_id == image_token_id != tokenizer.unk_token_id
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    check_trains_and_generates(model, processor, subtitle_band())


def test_the_bpe_tokenizers_are_byte_level_and_keep_their_special_tokens_whole(tmp_path):
    _, processor = config_and_processor("qwen3_vl", SENTENCES)
    tokenizer = processor.tokenizer
    text = "火車站 ok"  # characters no training sentence holds still encode, as bytes
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text
    merged = tokenizer.convert_ids_to_tokens(tokenizer.encode("這是一個國際學校", add_special_tokens=False))
    assert len(merged) < len("這是一個國際學校".encode())  # merges learnt from the sentences join the bytes
    for special in ("<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|vision_start|>"):
        assert tokenizer.encode(special, add_special_tokens=False) == [tokenizer.convert_tokens_to_ids(special)]
    assert processor.apply_chat_template(conversation(), tokenize=False) == (
        f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{PROMPT}<|im_end|>\n"
        f"<|im_start|>assistant\n{ANSWER}<|im_end|>\n")


@pytest.mark.parametrize("architecture, parameters", [("qwen2_vl_2b", 2.209e9), ("hunyuan_ocr_1b", 0.996e9)])
def test_bench_models_have_the_published_shape(architecture, parameters):
    config, processor = config_and_processor(architecture, CHARACTERS)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    assert math.isclose(sum(p.numel() for p in model.parameters()), parameters, rel_tol=1e-2)
    assert config.image_token_id == processor.tokenizer.convert_tokens_to_ids(processor.image_token)


@pytest.fixture(scope="module")
def subtitle_vlm(tmp_path_factory):
    return build_subtitle_vlm(tmp_path_factory.mktemp("subtitle_vlm") / "model", CHARACTERS, seed=0,
                              **SUBTITLE_VLM_SIZES)


def test_subtitle_vlm_gives_one_image_token_per_encoder_token(subtitle_vlm):
    model, processor = load(subtitle_vlm)
    band = subtitle_band()
    batch = processor(text=[processor.apply_chat_template(conversation(), tokenize=False)], images=[band],
                      return_tensors="pt")
    with torch.no_grad():
        features = model.model.vision_tower(batch["pixel_values"]).last_hidden_state
    assert features.shape == (1, SUBTITLE_VLM_SIZES["input_width"] // 16, 120)  # two 8 px strips per token
    assert SubtitleLineEncoderConfig().num_image_tokens == 60  # the default 960 px line
    assert (batch["input_ids"] == model.config.image_token_id).sum() == features.shape[1]


def test_subtitle_vlm_starts_from_the_recognizer_head(subtitle_vlm):
    """Before any training, each image token already scores highest for the character it shows."""
    model, processor = load(subtitle_vlm)
    batch = processor.image_processor([subtitle_band()], return_tensors="pt")
    with torch.no_grad():
        tokens = model.model.multi_modal_projector(model.model.vision_tower(batch["pixel_values"]).last_hidden_state)
        best = processor.tokenizer.convert_ids_to_tokens(model.lm_head(tokens)[0].argmax(-1).tolist())
    # Between characters no token stands for the CTC blank, so punctuation shows up there: compare the Han only.
    read = "".join(t for i, t in enumerate(best) if len(t) == 1 and is_han(t) and (i == 0 or t != best[i - 1]))
    assert read == "這是一個國際學校"


def test_subtitle_vlm_knows_every_character_of_the_recogniser(subtitle_vlm):
    """Its tokens are the recogniser's whole dictionary (18,709 characters), each starting from its classifier row,
    not only the training sentences' characters: a subtitle of unseen characters is still a sequence of tokens."""
    model, processor = load(subtitle_vlm)
    recogniser = pretrained_ppocr_v6_small()
    characters = recogniser.charset.characters
    vocabulary = processor.tokenizer.get_vocab()
    assert len(characters) > 18000 and set(characters) <= set(vocabulary)
    unseen = [c for c in "火車站颱風" if c not in "".join(SENTENCES)]
    assert unseen and processor.tokenizer.unk_token_id not in processor.tokenizer.encode("".join(unseen),
                                                                                     add_special_tokens=False)
    width = recogniser.net.head.in_features
    embeddings = model.get_input_embeddings().weight
    for character in unseen:
        row = recogniser.net.head.weight[characters.index(character) + 1]  # 0 is the CTC blank
        assert torch.equal(embeddings[vocabulary[character], :width], row)


def test_subtitle_vlm_reads_the_located_line(subtitle_vlm):
    """Wherever the line sits in the band, the model sees the same pixels: the line, located and cut out."""
    _, processor = load(subtitle_vlm)
    scene = subtitle_band(width=2400, height=600)  # the line is centred at (1200, 300)
    line_low_right = scene.crop((0, 0, 1920, 378))  # the line centred at (1200, 300) of the band
    line_high_left = scene.crop((480, 222, 2400, 600))  # at (720, 78)
    seen = [processor.image_processor(band, return_tensors="pt")["pixel_values"] for band in (line_low_right, line_high_left)]
    assert torch.equal(seen[0], seen[1])


def test_subtitle_vlm_keeps_the_recogniser_encoder(subtitle_vlm):
    model, processor = load(subtitle_vlm)
    recogniser = pretrained_ppocr_v6_small()
    encoder_weights, recogniser_weights = model.model.vision_tower.net.state_dict(), recogniser.net.state_dict()
    assert set(encoder_weights) == {name for name in recogniser_weights if not name.startswith("head.")}
    assert all(torch.equal(encoder_weights[name], recogniser_weights[name]) for name in encoder_weights)

    text = "我知道，但是不行！"
    pixel_values = processor.image_processor(subtitle_band(text), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        strips = model.model.vision_tower.net(pixel_values)  # one feature per 8 px, before pooling into image tokens
    assert recogniser.charset.decode_greedy(recogniser.net.head(strips)) == [text]

    model.train()
    assert not any(m.training for m in model.model.vision_tower.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_subtitle_vlm_trains_and_generates(subtitle_vlm):
    model, processor = load(subtitle_vlm)
    check_trains_and_generates(model, processor, subtitle_band())
