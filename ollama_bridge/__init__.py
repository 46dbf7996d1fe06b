"""Everything that speaks to Ollama: its client, its process keeper, its live status."""
