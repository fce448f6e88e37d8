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
    """Batches (image, prompt, answer) items; labels are the input ids with everything but the answer and its
    end-of-turn mark set to LABEL_PAD: the prompt, the image tokens and the padding are never learnt.

    The supervised tokens are those of the text the template puts after the prompt, tokenised alone, found at the
    end of each row. Where that text tokenises differently inside the whole conversation (a SentencePiece prefix
    space, say), the prompts are encoded with their images to find where the answer starts instead.
    """

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        images = [[item["image"]] for item in items]
        prompts = [chat_text(self.processor, item["prompt"]) for item in items]
        texts = [chat_text(self.processor, item["prompt"], item["answer"]) for item in items]
        full = self._encode(texts, images)
        lengths = full["attention_mask"].sum(1).tolist()  # padding is on the right
        starts = self._answer_starts(full["input_ids"], lengths, prompts, texts)
        if starts is None:
            starts = self._prompt_lengths(full["input_ids"], self._encode(prompts, images))
        labels = full["input_ids"].clone()
        positions = torch.arange(labels.shape[1])
        labels[(positions[None] < torch.tensor(starts)[:, None]) | (full["attention_mask"] == 0)] = LABEL_PAD
        return {**full, "labels": labels}

    def _answer_starts(self, input_ids: torch.Tensor, lengths: list[int], prompts: list[str],
                       texts: list[str]) -> list[int] | None:
        """Where each row's answer starts, when every answer tokenises alone as it does in its row."""
        starts = []
        for row, length, prompt, text in zip(input_ids.tolist(), lengths, prompts, texts):
            if not text.startswith(prompt):
                return None
            answer = self.processor.tokenizer(text[len(prompt):], add_special_tokens=False)["input_ids"]
            if row[length - len(answer):length] != answer:
                return None
            starts.append(length - len(answer))
        return starts

    @staticmethod
    def _prompt_lengths(input_ids: torch.Tensor, prompts) -> list[int]:
        lengths = prompts["attention_mask"].sum(1).tolist()
        for row, prompt_ids, length in zip(input_ids, prompts["input_ids"], lengths):
            if not torch.equal(row[:length], prompt_ids[:length]):
                raise ValueError("the chat template tokenises the prompt differently once the answer follows it, so the "
                                 "answer cannot be told apart; use a model whose template keeps the prompt as a prefix")
        return lengths

    def _encode(self, texts: list[str], images: list[list[Image.Image]]):
        self.processor.tokenizer.padding_side = "right"
        return self.processor(text=texts, images=images, padding=True, return_tensors="pt")


def end_of_turn_ids(processor) -> list[int]:
    """The token that closes an assistant turn in this chat template, beside the tokenizer's eos."""
    tokenizer = processor.tokenizer
    with_answer = chat_text(processor, "?", PROBE_ANSWER)
    tail = with_answer[len(chat_text(processor, "?")):]
    after_answer = tail[tail.index(PROBE_ANSWER) + len(PROBE_ANSWER):].strip()
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
    """The subtitle alone: no chat markup or role name, no echoed prompt, one line."""
    text = CHAT_MARKUP.sub("", text)
    text = ROLE_PREFIX.sub("", text.strip())
    bare_prompt = prompt.replace(IMAGE_TOKEN, "").strip()
    if bare_prompt and text.startswith(bare_prompt):
        text = text[len(bare_prompt):]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


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
