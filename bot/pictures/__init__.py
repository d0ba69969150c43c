"""Result pictures, no Telegram here: fetched safely from an upstream URL (fetch.py) and made
Telegram-ready with Pillow (prepare.py)."""
