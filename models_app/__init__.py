"""Models known to PremRunner: uploaded ones and those already in Ollama."""
