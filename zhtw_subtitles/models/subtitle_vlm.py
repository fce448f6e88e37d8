"""subtitle_vlm_cpu: a LLaVA model (LlavaForConditionalGeneration, LlavaProcessor) small enough to train on a CPU,
whose vision tower is the encoder of the pretrained PP-OCRv6 small recogniser.

The image processor finds the subtitle line in an RGB picture of the subtitle band (band.line_crop), and prepares
it exactly as ppocr_rec.preprocess does, at one fixed width: every image gives the same number of image tokens,
one per 8 px of width (120 for 960 px). The encoder's 120-dim tokens go through Llava's projector (random) into a
small random-initialised Llama decoder over the character tokenizer.

Importing this module registers the encoder's config, model and image processor with the Auto classes: it must
be imported before `AutoModelForImageTextToText.from_pretrained` / `AutoProcessor.from_pretrained` (or
`LlavaForConditionalGeneration(config)`) meet a saved subtitle_vlm_cpu folder.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    BaseImageProcessor,
    BatchFeature,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.image_utils import make_flat_list_of_images
from transformers.modeling_outputs import BaseModelOutputWithPooling

from zhtw_subtitles.models.char_tokenizer import build_char_tokenizer
from zhtw_subtitles.models.new_vlm import llama_text_config, save_new_vlm
from zhtw_subtitles.models.ppocr_rec import INPUT_HEIGHT, CtcNetwork, preprocess
from zhtw_subtitles.models.recognizer import (
    SubtitleRecognizer,
    pretrained_ppocr_v6_small,
)
from zhtw_subtitles.reading.band import line_crop

INPUT_WIDTH = 960  # lines wider than this are squeezed to it
TOKEN_WIDTH = 8  # input pixels per encoder token (two stride-2 stages, then the (3, 2) average pool)
TOKEN_POOL = 2  # neighbouring encoder tokens averaged into one image token: 60 for 960 px, ~3 per character
ENCODER_DIM = 120
LINE_MARGIN = 0.15  # line_crop's margin around the located line, as a share of its height
IMAGE_TOKEN = "<image>"

TEXT_SIZES = {
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "intermediate_size": 768,
    "max_position_embeddings": 512,
}


class SubtitleLineEncoderConfig(PretrainedConfig):
    model_type = "zhtw_line_encoder"

    def __init__(self, input_width: int = INPUT_WIDTH, token_pool: int = TOKEN_POOL, hidden_size: int = ENCODER_DIM,
                 **kwargs):
        super().__init__(**kwargs)
        self.input_width = input_width
        self.token_pool = token_pool
        self.hidden_size = hidden_size  # Llava's projector reads the vision tower's width here

    @property
    def num_image_tokens(self) -> int:
        return self.input_width // (TOKEN_WIDTH * self.token_pool)


class SubtitleLineEncoder(PreTrainedModel):
    """PP-OCRv6 small's backbone and neck (ppocr_rec.CtcNetwork.encoder: transformers' native modules, BatchNorm
    statistics frozen): pixel_values N x 3 x 48 x W (W <= input_width) -> N x num_image_tokens x 120. Each line is
    encoded at its own width (no time spent on the batch's padding, and the same tokens in any batch): W/8 tokens,
    averaged in groups of `token_pool`, zero-padded to the fixed count every image has.

    Returns them as the only hidden state, where LlavaModel.get_image_features picks its `vision_feature_layer`
    (-1) from; with `vision_feature_select_strategy="full"` all of them become image tokens.
    """

    config_class = SubtitleLineEncoderConfig
    main_input_name = "pixel_values"

    def __init__(self, config: SubtitleLineEncoderConfig):
        super().__init__(config)
        self.net = CtcNetwork.encoder()  # the CTC classifier is not part of the encoder
        # Frozen in training, the encoder gives a line the same tokens every epoch: computing them once makes
        # later epochs cost only the language model (the encoder is most of a step's time on a CPU).
        self.frozen_tokens: dict[bytes, torch.Tensor] = {}
        self.post_init()

    def _init_weights(self, module) -> None:
        """Weights come from the pretrained recogniser or a checkpoint, never from a random initialiser."""

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> BaseModelOutputWithPooling:
        frozen = self.training and not any(p.requires_grad for p in self.parameters())
        tokens = torch.stack([self._line_tokens(line, frozen) for line in map(self._unpadded, pixel_values)])
        return BaseModelOutputWithPooling(last_hidden_state=tokens, hidden_states=(tokens,))

    def _unpadded(self, line: torch.Tensor) -> torch.Tensor:
        """One line without the batch's right padding, so that its tokens never depend on its batch mates."""
        filled = line.abs().sum(dim=(0, 1)).nonzero()
        step = TOKEN_WIDTH * self.config.token_pool
        width = -(-(int(filled[-1]) + 1 if len(filled) else step) // step) * step
        return line[:, :, :width]

    def _line_tokens(self, line: torch.Tensor, frozen: bool) -> torch.Tensor:
        if not frozen:
            return self._tokens(line)
        key = hashlib.blake2b(line.detach().cpu().numpy().tobytes(), digest_size=16).digest()
        if key not in self.frozen_tokens:
            with torch.no_grad():
                self.frozen_tokens[key] = self._tokens(line)
        return self.frozen_tokens[key]

    def _tokens(self, line: torch.Tensor) -> torch.Tensor:
        tokens = self.net(line[None])[0]  # W/8 x 120
        pool = self.config.token_pool
        tokens = torch.nn.functional.avg_pool1d(tokens.T[None], pool, pool, ceil_mode=True)[0].T
        return torch.nn.functional.pad(tokens, (0, 0, 0, self.config.num_image_tokens - tokens.shape[0]))

    def load_recognizer_weights(self, recognizer: SubtitleRecognizer) -> None:
        encoder_weights = {name: value for name, value in recognizer.net.state_dict().items()
                           if not name.startswith("head.")}
        self.net.load_state_dict(encoder_weights, strict=True)


class SubtitleBandImageProcessor(BaseImageProcessor):
    """RGB picture of a subtitle band (or of a line) -> pixel_values N x 3 x 48 x input_width, BGR in [-1, 1]."""

    model_input_names = ["pixel_values"]

    def __init__(self, input_width: int = INPUT_WIDTH, locate_text_line: bool = True,
                 line_margin: float = LINE_MARGIN, **kwargs):
        super().__init__(**kwargs)
        self.input_width = input_width
        self.locate_text_line = locate_text_line
        self.line_margin = line_margin

    def preprocess(self, images, return_tensors=None, **kwargs) -> BatchFeature:
        """`images`: PIL images or H x W x 3 RGB uint8 arrays. Other processor kwargs do not apply and are ignored."""
        lines = [self._line(image) for image in make_flat_list_of_images(images)]
        pixel_values = preprocess(lines, INPUT_HEIGHT, max_width=self.input_width)
        return BatchFeature({"pixel_values": pixel_values.numpy()}, tensor_type=return_tensors)

    def _line(self, image) -> Image.Image:
        rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
        if self.locate_text_line:
            # The locator only compares channels with each other, so RGB works as well as BGR.
            rgb = line_crop(rgb, crop=None, pad_fraction=self.line_margin)
        return Image.fromarray(np.ascontiguousarray(rgb))


AutoConfig.register(SubtitleLineEncoderConfig.model_type, SubtitleLineEncoderConfig, exist_ok=True)
AutoModel.register(SubtitleLineEncoderConfig, SubtitleLineEncoder, exist_ok=True)
AutoImageProcessor.register(SubtitleLineEncoderConfig, image_processor_classes={"pil": SubtitleBandImageProcessor},
                            exist_ok=True)


def start_from_the_recognizer_head(model: LlavaForConditionalGeneration, tokenizer, recognizer: SubtitleRecognizer) -> None:
    """Begin where the recogniser already is: the projector copies each image token's 120 features into the first
    120 dimensions of the decoder's width, and every character's (tied) embedding is the recogniser's CTC
    classifier row for it. An image token then already scores highest for the character it shows; what the decoder
    has to learn is only which image token to look at next, instead of what the characters look like as well."""
    head, rows = recognizer.net.head, {c: i + 1 for i, c in enumerate(recognizer.charset.characters)}  # 0: CTC blank
    projector, embeddings = model.model.multi_modal_projector, model.get_input_embeddings().weight
    width = head.in_features
    with torch.no_grad():
        for linear in (projector.linear_1, projector.linear_2):
            linear.weight.zero_()
            linear.weight[:width, :width] = torch.eye(width)
            linear.bias.zero_()
        projector.linear_2.weight[width:, width:] = torch.eye(projector.linear_2.out_features - width)
        for token, token_id in tokenizer.get_vocab().items():
            if token in rows:
                embeddings[token_id, :width] = head.weight[rows[token]]
                embeddings[token_id, width:] = 0.0


def build_subtitle_vlm(folder: Path, characters: Iterable[str], seed: int = 0, input_width: int = INPUT_WIDTH,
                       token_pool: int = TOKEN_POOL, **text_sizes) -> Path:
    """Save subtitle_vlm_cpu into `folder`: the pretrained recogniser's encoder, a random projector and a random
    Llama decoder (TEXT_SIZES, overridden by `text_sizes`) whose tokens are the recogniser's whole dictionary, as its
    embeddings start from that dictionary's classifier rows, and any other character of `characters`."""
    if text_sizes.get("hidden_size", TEXT_SIZES["hidden_size"]) < ENCODER_DIM:
        raise ValueError(f"the decoder's hidden_size must be >= {ENCODER_DIM}, the encoder's width, to start from its head")
    if input_width % (TOKEN_WIDTH * token_pool) or input_width <= INPUT_HEIGHT:
        raise ValueError(f"input_width {input_width} must be a multiple of {TOKEN_WIDTH * token_pool} above {INPUT_HEIGHT}")
    recognizer = pretrained_ppocr_v6_small()
    tokenizer = build_char_tokenizer([*recognizer.charset.characters, *characters], (IMAGE_TOKEN,), IMAGE_TOKEN)
    encoder_config = SubtitleLineEncoderConfig(input_width=input_width, token_pool=token_pool)
    text_config = llama_text_config(tokenizer, **{**TEXT_SIZES, **text_sizes})
    text_config.tie_word_embeddings = True
    config = LlavaConfig(
        vision_config=encoder_config,
        text_config=text_config,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=encoder_config.num_image_tokens,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        projector_hidden_act="linear",
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.model.vision_tower.load_recognizer_weights(recognizer)
    start_from_the_recognizer_head(model, tokenizer, recognizer)
    # LlavaProcessor counts (height // patch_size) * (width // patch_size) + num_additional_image_tokens. The
    # encoder's tokens are 48 x 8 px strips, which no square patch describes: a patch wider than the 48 px input
    # height makes the first term 0, and the additional tokens are then all of them.
    processor = LlavaProcessor(
        SubtitleBandImageProcessor(input_width=input_width),
        tokenizer,
        patch_size=input_width,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=encoder_config.num_image_tokens,
        chat_template=tokenizer.chat_template,
    )
    return save_new_vlm(model, processor, folder)
