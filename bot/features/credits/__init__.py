"""Credits as users and operators meet them: /balance (balance.py), buying with Telegram
Stars and /paysupport (shop.py), /grant and /refund for the operators (admin.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.features.credits import admin, balance, shop
from bot.runtime import BotContext


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [*balance.handlers(), *shop.handlers(), *admin.handlers()]
