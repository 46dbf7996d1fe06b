"""Inference for every caller (`inference`) and the web chat built on it (`web_chat`)."""
