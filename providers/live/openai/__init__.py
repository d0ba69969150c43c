"""OpenAI-compatible APIs: images.py draws, chat.py answers (streamed), wire.py reads errors."""
