"""Synthetic zh-TW subtitle data, recognisers and VLM fine-tuning, as DVC pipeline stages."""
