"""Byte-level BPE tokenizers trained offline (the `tokenizers` library) on a handful of sentences, the kind of
tokenizer real VLMs ship (Qwen, ERNIE): text is split by Qwen2's pre-tokenizer pattern, then into bytes, and BPE
merges learnt on the sentences join them again. A merge may join a chat template's last character with the answer's
first (" 明" after "Assistant:"), which the character tokenizer of char_tokenizer.py never does.

Each tokenizer comes with an architecture's special tokens and a chat template in that architecture's format.
"""
from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

# Qwen2's pre-tokenizer: a letter run keeps one leading non-letter (a space), so " 明天" is one piece.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
                 r"|\s+(?!\S)|\s+")
VOCAB_SIZE = 600  # 256 bytes, the special tokens, and the merges learnt from the sentences


def build_bpe_tokenizer(texts: Iterable[str], special_tokens: list[str], chat_template: str,
                        **token_roles: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on `texts` (whole conversations, so that merges across the template's parts are
    learnt as a real tokenizer would), with `special_tokens` never split; `token_roles` name some of them
    (eos_token="<|im_end|>", image_token="<|image_pad|>"): processors and generation read them by those names."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(list(texts), trainer)
    named = set(token_roles.values())
    return PreTrainedTokenizerFast(tokenizer_object=backend, chat_template=chat_template, clean_up_tokenization_spaces=False,
                                   extra_special_tokens=[t for t in special_tokens if t not in named], **token_roles)
