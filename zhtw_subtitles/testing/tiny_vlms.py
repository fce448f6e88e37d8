"""Tiny random-initialised VLMs of real transformers architectures, built locally (no Hub download), for tests.

`build_tiny_vlm(architecture, folder, texts)`, for each of ARCHITECTURES, saves a model, its processor (the
architecture's own image processor and processor class) and a generation config into `folder`;
`AutoModelForImageTextToText.from_pretrained(folder)` and `vlm_models.load_processor(folder)` load them back offline
(without torchvision, the processors that also handle video are loaded in their image-only form: see
vlm_models.image_only). The dimensions are those of transformers' own tests of each model.

The tokenizer is the character tokenizer and chat template of char_tokenizer.py, except for qwen3_vl and
paddleocr_vl: a byte-level BPE trained on `texts` (bpe_tokenizer.py) with the architecture's special tokens and a
chat template in its format (ChatML; "User: ... Assistant: ...").

"qwen2_vl_2b" and "hunyuan_ocr_1b" are the published shapes of Qwen2-VL-2B-Instruct (2.2B parameters) and
HunyuanOCR (1.0B), randomly initialised in bf16, for GPU throughput benches only: building them takes 4.5 GB and
2 GB of memory.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import torch
from transformers import (
    AutoModelForImageTextToText,
    CLIPVisionConfig,
    GenerationConfig,
    HunYuanVLConfig,
    HunYuanVLProcessor,
    Idefics3Config,
    Idefics3Processor,
    LlavaConfig,
    LlavaProcessor,
    PaddleOCRVLConfig,
    PaddleOCRVLProcessor,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    ProcessorMixin,
    Qwen2VLConfig,
    Qwen2VLProcessor,
    Qwen3VLConfig,
    Qwen3VLProcessor,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.hunyuan_vl.image_processing_pil_hunyuan_vl import (
    HunYuanVLImageProcessorPil,
)
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.idefics3.image_processing_pil_idefics3 import (
    Idefics3ImageProcessorPil,
)
from transformers.models.paddleocr_vl.image_processing_pil_paddleocr_vl import (
    PaddleOCRVLImageProcessorPil,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
)

from zhtw_subtitles.models.char_tokenizer import build_char_tokenizer
from zhtw_subtitles.models.new_vlm import llama_text_config, special_token_ids
from zhtw_subtitles.models.vlm_chat import end_of_turn_ids
from zhtw_subtitles.models.vlm_models import image_only
from zhtw_subtitles.testing.bpe_tokenizer import build_bpe_tokenizer

# Tiny text decoder shared by the llava and idefics3 builds (Qwen2-VL has its own text config class).
TEXT_HIDDEN = 64
TEXT_LAYERS = 2
TEXT_HEADS = 4
TEXT_KV_HEADS = 2
TEXT_INTERMEDIATE = 128
MAX_POSITIONS = 512
TINY_TEXT = {"hidden_size": TEXT_HIDDEN, "num_hidden_layers": TEXT_LAYERS, "num_attention_heads": TEXT_HEADS,
             "num_key_value_heads": TEXT_KV_HEADS, "intermediate_size": TEXT_INTERMEDIATE,
             "max_position_embeddings": MAX_POSITIONS}
# Tiny vision towers.
VISION_HIDDEN = 32
VISION_LAYERS = 2
VISION_HEADS = 2
VISION_INTERMEDIATE = 64

CLIP_IMAGE_SIZE, CLIP_PATCH = 56, 14  # 4 x 4 patches: 16 image tokens (the CLS token is dropped)
IDEFICS3_IMAGE_SIZE, IDEFICS3_PATCH, IDEFICS3_SCALE = 64, 16, 2  # 4 x 4 patches, pixel-shuffled 2x: 4 tokens
# Qwen2-VL resizes to multiples of 28 px (14 px patches, 2 x 2 merged) within this pixel range: 4 to 16 tokens.
QWEN2_VL_PIXELS = {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 16}

QWEN2_VL_IMAGE_TOKENS = ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>")
LLAVA_IMAGE_TOKENS = ("<image>",)
IDEFICS3_IMAGE_TOKENS = ("<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>")

TINY_QWEN2_VL = {
    "text": {
        "hidden_size": TEXT_HIDDEN,
        "intermediate_size": TEXT_INTERMEDIATE,
        "num_hidden_layers": TEXT_LAYERS,
        "num_attention_heads": TEXT_HEADS,
        "num_key_value_heads": TEXT_KV_HEADS,
        "max_position_embeddings": MAX_POSITIONS,
        # M-RoPE splits each head's 8 rotary frequencies over (time, height, width).
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
    },
    # The vision config's hidden_size is the width its patch merger hands the text model.
    "vision": {"depth": VISION_LAYERS, "embed_dim": VISION_HIDDEN, "num_heads": VISION_HEADS,
               "hidden_size": TEXT_HIDDEN},
    "pixels": QWEN2_VL_PIXELS,
}

# Qwen/Qwen2-VL-2B-Instruct config.json and preprocessor_config.json as published, written from memory (nothing
# is downloaded here); only the token ids differ: they are the character tokenizer's.
QWEN2_VL_2B = {
    "text": {
        "vocab_size": 151936,
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "max_position_embeddings": 32768,
        "max_window_layers": 28,
        "sliding_window": 32768,
        "use_sliding_window": False,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
    },
    "vision": {"depth": 32, "embed_dim": 1280, "num_heads": 16, "hidden_size": 1536, "mlp_ratio": 4,
               "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
    "pixels": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280},
}


# Tiny Qwen3-VL, as transformers' Qwen3-VL tests build it, with Qwen3-VL's 2 x 2 patch merge: 32 px per token.
TINY_QWEN3_VL = {
    "text": {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": MAX_POSITIONS,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 1, 1],
                                 "mrope_interleaved": True}},
    "vision": {"depth": 2, "hidden_size": 32, "intermediate_size": 32, "num_heads": 4, "out_hidden_size": 32,
               "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "num_position_embeddings": 16,
               "deepstack_visual_indexes": [0, 1]},
    "pixels": {"shortest_edge": 64 * 64, "longest_edge": 32 * 32 * 16},
}
# Tiny PaddleOCR-VL, as transformers' PaddleOCR-VL tests build it: 28 px per token.
TINY_PADDLEOCR_VL = {
    "text": {"hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 128, "max_position_embeddings": MAX_POSITIONS,
             "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0, "mrope_section": [16, 24, 24]}},
    "vision": {"hidden_size": 144, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
               "patch_size": 14, "spatial_merge_size": 2},
    "pixels": {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 16},
}
# Tiny HunYuanVL, as transformers' HunYuanVL tests build it, with HunyuanOCR's 2 x 2 patch merge.
TINY_HUNYUAN_VL = {
    "text": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 4, "head_dim": 16, "max_position_embeddings": MAX_POSITIONS,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 2, 2, 2]}},
    "vision": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
               "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 1, "max_image_size": 64,
               "out_hidden_size": 64},
    "pixels": {"shortest_edge": 64 * 64, "longest_edge": 32 * 32 * 16},
}
# tencent/HunyuanOCR's config.json as published, written from candle-transformers' port of it (its defaults are that
# file's values; nothing is downloaded here, and the hub file itself was not readable offline). Its xDRoPE (NTK
# alpha) scaling is left out: it changes no shape and no cost. 1.0B parameters; only the token ids differ.
HUNYUAN_OCR_1B = {
    "text": {"vocab_size": 120818, "hidden_size": 1024, "intermediate_size": 3584, "num_hidden_layers": 24,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 32768,
             "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
             "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [16, 16, 16, 16]}},
    "vision": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
               "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 1, "max_image_size": 2048,
               "out_hidden_size": 1024},
    "pixels": {"shortest_edge": 512 * 512, "longest_edge": 2048 * 2048},
}


def build_tiny_vlm(architecture: str, folder: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Save a random-initialised `architecture` model (one of ARCHITECTURES) with its processor and generation
    config into `folder`. Its tokenizer knows the characters of `texts` plus printable ASCII (the character
    tokenizer), or is a byte-level BPE trained on conversations answering with each of `texts`."""
    config, processor = config_and_processor(architecture, texts)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=_FAMILIES[architecture].dtype)
    tokenizer = processor.tokenizer
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id,
                                               eos_token_id=end_of_turn_ids(processor))
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)


def config_and_processor(architecture: str, texts: Iterable[str]) -> tuple[PretrainedConfig, ProcessorMixin]:
    """The model config (token ids wired to the tokenizer's) and the processor of `architecture`."""
    family = _FAMILIES[architecture]
    return family.build(family.tokenizer(list(texts)))


def _text_config(tokenizer: PreTrainedTokenizerFast, shape: dict) -> dict:
    text = {"vocab_size": len(tokenizer), **shape["text"], **special_token_ids(tokenizer)}
    if text["vocab_size"] < len(tokenizer):
        raise ValueError(f"{len(tokenizer)} tokens do not fit a vocabulary of {text['vocab_size']}")
    return text


def _token_ids(tokenizer: PreTrainedTokenizerFast, **tokens: str) -> dict[str, int]:
    return {name: tokenizer.convert_tokens_to_ids(token) for name, token in tokens.items()}


def _qwen2_vl(shape: dict) -> Callable[[PreTrainedTokenizerFast], tuple[PretrainedConfig, ProcessorMixin]]:
    def build(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
        ids = _token_ids(tokenizer, **dict(zip(("vision_start_token_id", "image_token_id", "vision_end_token_id",
                                                 "video_token_id"), QWEN2_VL_IMAGE_TOKENS)))
        config = Qwen2VLConfig(text_config=_text_config(tokenizer, shape), vision_config=shape["vision"], **ids)
        image_processor = Qwen2VLImageProcessorPil(size=shape["pixels"])
        return config, image_only(Qwen2VLProcessor)(image_processor, tokenizer, chat_template=tokenizer.chat_template)

    return build


def _qwen3_vl(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
    shape = TINY_QWEN3_VL
    ids = _token_ids(tokenizer, vision_start_token_id="<|vision_start|>", image_token_id="<|image_pad|>",
                     vision_end_token_id="<|vision_end|>", video_token_id="<|video_pad|>")
    config = Qwen3VLConfig(text_config=_text_config(tokenizer, shape), vision_config=shape["vision"], **ids)
    vision = shape["vision"]
    image_processor = Qwen2VLImageProcessorPil(size=shape["pixels"], patch_size=vision["patch_size"],
                                               merge_size=vision["spatial_merge_size"],
                                               temporal_patch_size=vision["temporal_patch_size"],
                                               image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return config, image_only(Qwen3VLProcessor)(image_processor, tokenizer, chat_template=tokenizer.chat_template)


def _paddleocr_vl(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
    shape = TINY_PADDLEOCR_VL
    ids = _token_ids(tokenizer, vision_start_token_id="<|IMAGE_START|>", image_token_id="<|IMAGE_PLACEHOLDER|>",
                     vision_end_token_id="<|IMAGE_END|>", video_token_id="<|VIDEO_PLACEHOLDER|>")
    config = PaddleOCRVLConfig(text_config=_text_config(tokenizer, shape), vision_config=shape["vision"], **ids)
    image_processor = PaddleOCRVLImageProcessorPil(size=shape["pixels"], patch_size=shape["vision"]["patch_size"],
                                                   merge_size=shape["vision"]["spatial_merge_size"])
    return config, PaddleOCRVLProcessor(image_processor, tokenizer, chat_template=tokenizer.chat_template)


def _hunyuan_vl(shape: dict) -> Callable[[PreTrainedTokenizerFast], tuple[PretrainedConfig, ProcessorMixin]]:
    def build(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
        ids = _token_ids(tokenizer, image_token_id=HUNYUAN_VL_IMAGE_TOKENS[1], im_start_id=HUNYUAN_VL_IMAGE_TOKENS[0],
                         im_end_id=HUNYUAN_VL_IMAGE_TOKENS[2], im_newline_id=HUNYUAN_VL_IMAGE_TOKENS[3])
        config = HunYuanVLConfig(text_config=_text_config(tokenizer, shape), vision_config=shape["vision"], **ids)
        vision = shape["vision"]
        image_processor = HunYuanVLImageProcessorPil(size=shape["pixels"], patch_size=vision["patch_size"],
                                                     merge_size=vision["spatial_merge_size"],
                                                     temporal_patch_size=vision["temporal_patch_size"])
        return config, HunYuanVLProcessor(image_processor, tokenizer, chat_template=tokenizer.chat_template)

    return build


def _llava(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
    vision = CLIPVisionConfig(hidden_size=VISION_HIDDEN, intermediate_size=VISION_INTERMEDIATE,
                              num_hidden_layers=VISION_LAYERS, num_attention_heads=VISION_HEADS,
                              image_size=CLIP_IMAGE_SIZE, patch_size=CLIP_PATCH, projection_dim=VISION_HIDDEN)
    config = LlavaConfig(vision_config=vision, text_config=llama_text_config(tokenizer, **TINY_TEXT),
                         image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
                         image_seq_length=(CLIP_IMAGE_SIZE // CLIP_PATCH) ** 2,
                         vision_feature_select_strategy="default", vision_feature_layer=-2)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": CLIP_IMAGE_SIZE},
                                            crop_size={"height": CLIP_IMAGE_SIZE, "width": CLIP_IMAGE_SIZE})
    processor = LlavaProcessor(image_processor, tokenizer, patch_size=CLIP_PATCH,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=tokenizer.chat_template)
    return config, processor


def _idefics3(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
    vision = Idefics3VisionConfig(hidden_size=VISION_HIDDEN, intermediate_size=VISION_INTERMEDIATE,
                                  num_hidden_layers=VISION_LAYERS, num_attention_heads=VISION_HEADS,
                                  image_size=IDEFICS3_IMAGE_SIZE, patch_size=IDEFICS3_PATCH)
    config = Idefics3Config(vision_config=vision, text_config=llama_text_config(tokenizer, **TINY_TEXT),
                            image_token_id=tokenizer.convert_tokens_to_ids("<image>"), scale_factor=IDEFICS3_SCALE)
    image_processor = Idefics3ImageProcessorPil(size={"longest_edge": IDEFICS3_IMAGE_SIZE},
                                                max_image_size={"longest_edge": IDEFICS3_IMAGE_SIZE},
                                                do_image_splitting=False)
    image_seq_len = (IDEFICS3_IMAGE_SIZE // IDEFICS3_PATCH) ** 2 // IDEFICS3_SCALE**2
    processor = Idefics3Processor(image_processor, tokenizer, image_seq_len=image_seq_len,
                                  chat_template=tokenizer.chat_template)
    return config, processor


def _characters(image_tokens: tuple[str, ...], image_placeholder: str, **token_roles: str):
    """The character tokenizer with `image_tokens` (what the processor expects in the vocabulary), writing
    `image_placeholder` for an image; `token_roles` name some of them, as a processor may read them by name."""
    def build(texts: list[str]) -> PreTrainedTokenizerFast:
        tokenizer = build_char_tokenizer(texts, image_tokens, image_placeholder)
        if not token_roles:
            return tokenizer
        return PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, **tokenizer.init_kwargs,
                                       chat_template=tokenizer.chat_template, **token_roles)

    return build


def _bpe(special_tokens: list[str], chat_template: str, **token_roles: str):
    """A byte-level BPE trained on conversations written by `chat_template` in which each text answers itself."""
    def build(texts: list[str]) -> PreTrainedTokenizerFast:
        template = jinja2.Environment().from_string(chat_template)
        conversations = [template.render(messages=[
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]},
            {"role": "assistant", "content": [{"type": "text", "text": text}]}]) for text in texts]
        return build_bpe_tokenizer([*texts, *conversations], special_tokens, chat_template, **token_roles)

    return build


# ChatML as Qwen3-VL-Instruct writes it (no system turn, no tools): the image in the user turn, every turn closed by
# <|im_end|> and a newline.
CHATML = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
# PaddleOCR-VL's "User: <image>text\nAssistant: answer<|end_of_sentence|>" form after <|begin_of_sentence|>.
PADDLEOCR_VL_CHAT = (
    "{{- '<|begin_of_sentence|>' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- 'User: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'image' -%}"
    "{{- '<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>' -}}{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- '\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'Assistant: ' -}}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- '<|end_of_sentence|>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant: ' -}}{%- endif -%}"
)
QWEN3_VL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                   "<|image_pad|>", "<|video_pad|>"]
PADDLEOCR_VL_TOKENS = ["<unk>", "<|begin_of_sentence|>", "<|end_of_sentence|>", "<|IMAGE_START|>",
                       "<|IMAGE_PLACEHOLDER|>", "<|IMAGE_END|>", "<|VIDEO_PLACEHOLDER|>"]
HUNYUAN_VL_IMAGE_TOKENS = ("<|image_start|>", "<|image|>", "<|image_end|>", "<|image_newline|>")


@dataclass(frozen=True)
class _Family:
    tokenizer: Callable[[list[str]], PreTrainedTokenizerFast]  # from the texts
    build: Callable[[PreTrainedTokenizerFast], tuple[PretrainedConfig, ProcessorMixin]]
    dtype: torch.dtype = torch.float32


_QWEN2_VL_TOKENIZER = _characters(QWEN2_VL_IMAGE_TOKENS, "<|vision_start|><|image_pad|><|vision_end|>")
_HUNYUAN_VL_TOKENIZER = _characters(HUNYUAN_VL_IMAGE_TOKENS, "".join(HUNYUAN_VL_IMAGE_TOKENS[:3]),
                                    image_start_token=HUNYUAN_VL_IMAGE_TOKENS[0], image_token=HUNYUAN_VL_IMAGE_TOKENS[1],
                                    image_end_token=HUNYUAN_VL_IMAGE_TOKENS[2])
_FAMILIES = {
    "qwen2_vl": _Family(_QWEN2_VL_TOKENIZER, _qwen2_vl(TINY_QWEN2_VL)),
    "qwen3_vl": _Family(_bpe(QWEN3_VL_TOKENS, CHATML, pad_token="<|endoftext|>", eos_token="<|im_end|>",
                             image_token="<|image_pad|>", video_token="<|video_pad|>"), _qwen3_vl),
    "paddleocr_vl": _Family(_bpe(PADDLEOCR_VL_TOKENS, PADDLEOCR_VL_CHAT, unk_token="<unk>", pad_token="<unk>",
                                 bos_token="<|begin_of_sentence|>", eos_token="<|end_of_sentence|>",
                                 image_token="<|IMAGE_PLACEHOLDER|>"), _paddleocr_vl),
    "hunyuan_vl": _Family(_HUNYUAN_VL_TOKENIZER, _hunyuan_vl(TINY_HUNYUAN_VL)),
    "llava": _Family(_characters(LLAVA_IMAGE_TOKENS, "<image>"), _llava),
    "idefics3": _Family(_characters(IDEFICS3_IMAGE_TOKENS, "<image>"), _idefics3),
    "qwen2_vl_2b": _Family(_QWEN2_VL_TOKENIZER, _qwen2_vl(QWEN2_VL_2B), torch.bfloat16),
    "hunyuan_ocr_1b": _Family(_HUNYUAN_VL_TOKENIZER, _hunyuan_vl(HUNYUAN_OCR_1B), torch.bfloat16),
}
ARCHITECTURES = tuple(_FAMILIES)
TINY_ARCHITECTURES = tuple(name for name in ARCHITECTURES if not name.endswith(("_2b", "_1b")))
