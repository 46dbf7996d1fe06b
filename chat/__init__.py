"""Inference: OpenAI- and Prem-compatible completions, embeddings and the web chat."""
