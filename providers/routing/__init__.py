"""Which provider runs a job: configuration (config.py), the registry of models, health and
fallback, the entry points the bot and the CLI call (api.py), and the live check (check.py)."""
