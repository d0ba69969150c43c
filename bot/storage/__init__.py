"""State that outlives the process: the SQLite database (database.py: schema, migrations, chats,
jobs, health, prompts), finished pictures waiting for Telegram (outbox.py) and the exact upstream
files behind 📎 (originals.py)."""
