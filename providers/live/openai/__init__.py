"""OpenAI-compatible APIs: images.py draws (edits.py changes pictures, chat_images.py draws and
edits through chat completions), chat.py answers (streamed), wire.py reads errors,
pictures.py reads the pictures of an answer."""
