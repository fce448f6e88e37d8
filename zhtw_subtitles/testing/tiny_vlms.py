"""Tiny random-initialised VLMs of real transformers architectures, built locally (no Hub download), for tests.

`build_tiny_vlm(architecture, folder, characters)`, for each of ARCHITECTURES, saves a model, its processor (the
architecture's own image processor and processor class, with the character tokenizer and chat template of
char_tokenizer.py) and a generation config into `folder`; `AutoModelForImageTextToText.from_pretrained(folder)` and
`vlm_models.load_processor(folder)` load them back offline (without torchvision, Qwen2-VL's processor is
loaded in its image-only form: see vlm_models.image_only).

"qwen2_vl_2b" is Qwen2-VL-2B-Instruct's published shape (2.2B parameters, bf16), randomly initialised, for GPU
throughput benches only: building it takes about 4.5 GB of memory.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoModelForImageTextToText,
    CLIPVisionConfig,
    Idefics3Config,
    Idefics3Processor,
    LlavaConfig,
    LlavaProcessor,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    ProcessorMixin,
    Qwen2VLConfig,
    Qwen2VLProcessor,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.idefics3.configuration_idefics3 import Idefics3VisionConfig
from transformers.models.idefics3.image_processing_pil_idefics3 import (
    Idefics3ImageProcessorPil,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
)

from zhtw_subtitles.models.char_tokenizer import build_char_tokenizer
from zhtw_subtitles.models.new_vlm import (
    llama_text_config,
    save_new_vlm,
    special_token_ids,
)
from zhtw_subtitles.models.vlm_models import image_only

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


def build_tiny_vlm(architecture: str, folder: Path, characters: Iterable[str], seed: int = 0) -> Path:
    """Save a random-initialised `architecture` model (one of ARCHITECTURES) with its processor and generation
    config into `folder`; its vocabulary is the characters of `characters` plus printable ASCII."""
    config, processor = config_and_processor(architecture, characters)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=_FAMILIES[architecture].dtype)
    return save_new_vlm(model, processor, folder)


def config_and_processor(architecture: str, characters: Iterable[str]) -> tuple[PretrainedConfig, ProcessorMixin]:
    """The model config (token ids wired to the character tokenizer's) and the processor of `architecture`."""
    family = _FAMILIES[architecture]
    return family.build(build_char_tokenizer(characters, family.image_tokens, family.image_placeholder))


def _qwen2_vl(shape: dict) -> Callable[[PreTrainedTokenizerFast], tuple[PretrainedConfig, ProcessorMixin]]:
    def build(tokenizer: PreTrainedTokenizerFast) -> tuple[PretrainedConfig, ProcessorMixin]:
        ids = dict(zip(("vision_start_token_id", "image_token_id", "vision_end_token_id", "video_token_id"),
                       tokenizer.convert_tokens_to_ids(list(QWEN2_VL_IMAGE_TOKENS))))
        text = {"vocab_size": len(tokenizer), **shape["text"], **special_token_ids(tokenizer)}
        if text["vocab_size"] < len(tokenizer):
            raise ValueError(f"{len(tokenizer)} tokens do not fit a vocabulary of {text['vocab_size']}")
        config = Qwen2VLConfig(text_config=text, vision_config=shape["vision"], **ids)
        image_processor = Qwen2VLImageProcessorPil(size=shape["pixels"])
        return config, image_only(Qwen2VLProcessor)(image_processor, tokenizer, chat_template=tokenizer.chat_template)

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


@dataclass(frozen=True)
class _Family:
    image_tokens: tuple[str, ...]  # special tokens the processor expects in the vocabulary
    image_placeholder: str  # what the chat template writes for an image; the processor expands it
    build: Callable[[PreTrainedTokenizerFast], tuple[PretrainedConfig, ProcessorMixin]]
    dtype: torch.dtype = torch.float32


_QWEN2_VL_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"
_FAMILIES = {
    "qwen2_vl": _Family(QWEN2_VL_IMAGE_TOKENS, _QWEN2_VL_PLACEHOLDER, _qwen2_vl(TINY_QWEN2_VL)),
    "qwen2_vl_2b": _Family(QWEN2_VL_IMAGE_TOKENS, _QWEN2_VL_PLACEHOLDER, _qwen2_vl(QWEN2_VL_2B), torch.bfloat16),
    "llava": _Family(LLAVA_IMAGE_TOKENS, "<image>", _llava),
    "idefics3": _Family(IDEFICS3_IMAGE_TOKENS, "<image>", _idefics3),
}
ARCHITECTURES = tuple(_FAMILIES)
