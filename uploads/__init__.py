"""Model uploads of any size and their import into Ollama."""
