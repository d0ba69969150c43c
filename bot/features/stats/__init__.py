"""/stats for the operators: handlers.py answers, figures.py counts."""

from bot.features.stats.handlers import handlers

__all__ = ["handlers"]
