"""A character-level Hugging Face tokenizer and a small chat template, shared by every locally built VLM.

One token per character (one WordLevel "word" per character, so there are no merges to learn), decoding
concatenates them without inserting spaces, and characters outside the vocabulary become the unk token.
The chat template writes every turn as `<|role|>content<|im_end|>` and wraps the assistant turns in
`{% generation %}` so `apply_chat_template(..., return_assistant_tokens_mask=True)` can mark them.
"""
from __future__ import annotations

import string
from collections.abc import Iterable, Sequence

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

PAD = "<|pad|>"
UNK = "<|unk|>"
END_OF_TEXT = "<|endoftext|>"  # both bos and eos, as in Qwen
END_OF_TURN = "<|im_end|>"
ROLES = ("system", "user", "assistant")
# Printable ASCII (space included) and the newline are always in the vocabulary, whatever the training text holds.
BASE_CHARACTERS = string.digits + string.ascii_letters + string.punctuation + " \n"


def role_marker(role: str) -> str:
    return f"<|{role}|>"


def build_char_tokenizer(characters: Iterable[str], image_tokens: Sequence[str] = (),
                         image_placeholder: str = "") -> PreTrainedTokenizerFast:
    """Tokenizer over BASE_CHARACTERS plus every character of `characters` (strings are split into characters),
    with the special tokens above and `image_tokens` (the special tokens an architecture's processor expects),
    and the chat template that writes `image_placeholder` for an image."""
    specials = [PAD, UNK, END_OF_TEXT, END_OF_TURN, *map(role_marker, ROLES), *image_tokens]
    glyphs = sorted(set(BASE_CHARACTERS).union(*map(set, characters)))
    vocabulary = {token: index for index, token in enumerate([*specials, *glyphs])}

    backend = Tokenizer(models.WordLevel(vocabulary, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, unk_token=UNK, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT,
        extra_special_tokens=[END_OF_TURN, *map(role_marker, ROLES), *image_tokens],
        clean_up_tokenization_spaces=False,
        padding_side="left",  # batched generation appends to the right end of every row
    )
    tokenizer.chat_template = chat_template(image_placeholder)
    return tokenizer


def chat_template(image_placeholder: str) -> str:
    """Jinja chat template for HF messages (string content or a list of {"type": "image"|"text"} parts), writing
    `image_placeholder` for each image; with `add_generation_prompt` it ends with the assistant marker."""
    return _CHAT_TEMPLATE.replace("IMAGE_PLACEHOLDER", image_placeholder)


# Whitespace control (`-`) on every tag: the template's own line breaks never reach the prompt.
_CHAT_TEMPLATE = """
{%- macro render(content) -%}
    {%- if content is string -%}{{ content }}
    {%- else -%}{%- for part in content -%}
        {%- if part['type'] == 'image' -%}IMAGE_PLACEHOLDER
        {%- elif part['type'] == 'text' -%}{{ part['text'] }}
        {%- endif -%}
    {%- endfor -%}{%- endif -%}
{%- endmacro -%}
{%- for message in messages -%}
    <|{{ message['role'] }}|>
    {%- if message['role'] == 'assistant' -%}
        {%- generation -%}{{ render(message['content']) }}END_OF_TURN{%- endgeneration -%}
    {%- else -%}{{ render(message['content']) }}END_OF_TURN
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}ASSISTANT{%- endif -%}
""".replace("END_OF_TURN", END_OF_TURN).replace("ASSISTANT", role_marker("assistant"))
