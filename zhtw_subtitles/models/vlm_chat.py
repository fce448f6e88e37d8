"""How a VLM sees a frame and answers: one user turn (the image and the instruction) and one assistant turn (the
subtitle), written by the processor's own chat template. In training only the answer is supervised; in inference
the answer is generated greedily in batches and cleaned.
"""
from __future__ import annotations

import re

import numpy as np
import torch
from PIL import Image

from zhtw_subtitles.dataset.llava_json import IMAGE_TOKEN
from zhtw_subtitles.models.recognizer import LABEL_PAD

PROBE_ANSWER = "字"
MAX_ANSWER_LINES = 2  # a subtitle cue has one or two lines; a model rambling on writes more
ANSWER_MARGIN_TOKENS = 8


def messages(prompt: str, answer: str | None = None) -> list[dict]:
    """HF chat messages; the LLaVA JSON's `<image>` mark is dropped because the template places the image."""
    prompt = prompt.replace(IMAGE_TOKEN, "").strip()
    turns = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    if answer is not None:
        turns.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return turns


def chat_text(processor, prompt: str, answer: str | None = None) -> str:
    return processor.apply_chat_template(messages(prompt, answer), tokenize=False, add_generation_prompt=answer is None)


def shrink(image: Image.Image, max_pixels: int | None) -> Image.Image:
    """Keep the aspect, at most `max_pixels` pixels: the resolution knob that bounds a VLM's image tokens."""
    if max_pixels is None or image.width * image.height <= max_pixels:
        return image
    scale = (max_pixels / (image.width * image.height)) ** 0.5
    return image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.BICUBIC)


def band_image(band_bgr: np.ndarray, max_pixels: int | None) -> Image.Image:
    return shrink(Image.fromarray(np.ascontiguousarray(band_bgr[:, :, ::-1])), max_pixels)


class AnswerOnlyCollator:
    """Batches (image, prompt, answer) items; labels are the input ids with everything before the answer, and the
    padding, set to LABEL_PAD: the prompt and the image tokens are never learnt, the answer and what the template
    writes after it (the end-of-turn mark) are.

    The answer is found by characters, not tokens: the tokenizer's offsets tell which token holds the answer's first
    character. A byte-level BPE may merge that character with the end of the prompt (" 明" after "Assistant:"); that
    token is then the first one learnt, as it is the first the model has to produce.
    """

    def __init__(self, processor):
        self.processor = processor
        self.closing = turn_closing(processor)

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        texts = [chat_text(self.processor, item["prompt"], item["answer"]) for item in items]
        self.processor.tokenizer.padding_side = "right"
        full = self.processor(text=texts, images=[[item["image"]] for item in items], padding=True,
                              return_offsets_mapping=True, return_tensors="pt")
        offsets = full.pop("offset_mapping")
        labels = full["input_ids"].clone()
        for row, (text, item) in enumerate(zip(texts, items)):
            start = self.answer_start(offsets[row], full["attention_mask"][row], text, item["answer"], self.closing)
            labels[row, :start] = LABEL_PAD
        labels[full["attention_mask"] == 0] = LABEL_PAD
        return {**full, "labels": labels}

    @staticmethod
    def answer_start(offsets: torch.Tensor, attention_mask: torch.Tensor, text: str, answer: str, closing: str) -> int:
        """The index of the first token holding a character of the answer, or of the `closing` that follows it (an
        empty answer, for a frame without a subtitle, still learns to close the turn). The processor expands the
        image placeholder inside the prompt, so the answer's place is counted from the end of the text."""
        if not text.endswith(answer + closing) or not (answer + closing).strip():
            raise ValueError(f"the chat template does not write the answer {answer!r} as given; it cannot be "
                             "told apart from the prompt")
        from_end = len(answer) + len(closing)
        ends = offsets[attention_mask.bool(), 1]
        return int((ends > int(ends.max()) - from_end).nonzero()[0])


def turn_closing(processor) -> str:
    """What the chat template writes after an assistant's answer: its end-of-turn mark, and maybe a newline."""
    with_answer = chat_text(processor, "?", PROBE_ANSWER)
    return with_answer[with_answer.rindex(PROBE_ANSWER) + len(PROBE_ANSWER):]


def end_of_turn_ids(processor) -> list[int]:
    """The token that closes an assistant turn in this chat template, beside the tokenizer's eos."""
    tokenizer = processor.tokenizer
    after_answer = turn_closing(processor).strip()
    ids = tokenizer(after_answer, add_special_tokens=False)["input_ids"][:1] if after_answer else []
    return list(dict.fromkeys([*ids, *([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])]))


def answer_token_budget(tokenizer, answers: list[str]) -> int:
    """max_new_tokens: the longest training subtitle in this tokenizer plus a margin, so that a model caught in a
    repetition loop stops soon after the longest real answer."""
    longest = max((len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers), default=16)
    return longest + ANSWER_MARGIN_TOKENS


CHAT_MARKUP = re.compile(r"<\|[^|>]*\|>|</?s>|<end_of_turn>|<end_of_utterance>")
ROLE_PREFIX = re.compile(r"^(assistant|ASSISTANT|Assistant|gpt)\s*[:：]?\s*")


def clean_answer(text: str, prompt: str) -> str:
    """The subtitle alone: no chat markup or role name, no echoed prompt, at most MAX_ANSWER_LINES lines."""
    text = CHAT_MARKUP.sub("", text)
    text = ROLE_PREFIX.sub("", text.strip())
    bare_prompt = prompt.replace(IMAGE_TOKEN, "").strip()
    if bare_prompt and text.startswith(bare_prompt):
        text = text[len(bare_prompt):]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:MAX_ANSWER_LINES])


class VlmReader:
    """Reads subtitle bands with a VLM: batched greedy generation, stopped at the end of the turn."""

    reads_bands = True

    def __init__(self, model, processor, prompt: str, max_new_tokens: int, max_pixels: int | None):
        self.model = model.eval()
        self.processor = processor
        self.prompt = prompt
        self.max_pixels = max_pixels
        self.generation = {"max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1,
                           "eos_token_id": end_of_turn_ids(processor),
                           "pad_token_id": processor.tokenizer.pad_token_id or processor.tokenizer.eos_token_id}

    def read_images(self, images: list[Image.Image]) -> list[str]:
        self.processor.tokenizer.padding_side = "left"
        inputs = self.processor(text=[chat_text(self.processor, self.prompt)] * len(images),
                                images=[[image] for image in images], padding=True, return_tensors="pt")
        inputs = inputs.to(self.model.device).to(self.model.dtype)  # the dtype cast touches float tensors only
        with torch.inference_mode():
            generated = self.model.generate(**inputs, **self.generation)
        answers = self.processor.batch_decode(generated[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        return [clean_answer(answer, self.prompt) for answer in answers]

    def read(self, bands: list[np.ndarray]) -> list[str]:
        """BGR subtitle bands, as `inference.read_frames` hands them over."""
        return self.read_images([band_image(band, self.max_pixels) for band in bands])
