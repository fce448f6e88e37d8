"""Saving a VLM built in this process around the character tokenizer: its text config and generation config."""
from __future__ import annotations

from pathlib import Path

from transformers import (
    GenerationConfig,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    ProcessorMixin,
)

from zhtw_subtitles.models.char_tokenizer import END_OF_TURN


def save_new_vlm(model: PreTrainedModel, processor: ProcessorMixin, folder: Path) -> Path:
    """Write model, processor and a generation config that stops at the end of the assistant's turn."""
    folder = Path(folder)
    model.generation_config = generation_config(processor.tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def generation_config(tokenizer: PreTrainedTokenizerFast) -> GenerationConfig:
    return GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.convert_tokens_to_ids(END_OF_TURN), tokenizer.eos_token_id],
        pad_token_id=tokenizer.pad_token_id,
    )


def special_token_ids(tokenizer: PreTrainedTokenizerFast) -> dict[str, int]:
    """The token ids a text config names."""
    return {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}


def llama_text_config(tokenizer: PreTrainedTokenizerFast, *, hidden_size: int, num_hidden_layers: int,
                      num_attention_heads: int, num_key_value_heads: int, intermediate_size: int,
                      max_position_embeddings: int) -> LlamaConfig:
    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                       num_attention_heads=num_attention_heads, num_key_value_heads=num_key_value_heads,
                       intermediate_size=intermediate_size, max_position_embeddings=max_position_embeddings,
                       **special_token_ids(tokenizer))
