"""/balance: the sender's own credits (free ones left and when they renew, bought ones) and
what this chat's models cost; operators see that nothing is charged to them."""

from __future__ import annotations

import time

from telegram import Chat, Message, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.features.credits.texts import amount, renewal
from bot.i18n import N_, Translator
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext, Runtime, models
from bot.runtime.credits import Balance, Credits
from bot.runtime.languages import texts_for
from bot.telegram.commands import arguments, no_arguments
from providers import ModelEntry

FREE_HERE = N_("🆓 This bot is free to use here: no credits are counted.")
OPERATOR = N_("👑 You run this bot: nothing is charged to you.")
NOT_AS_A_CHAT = N_(
    "Credits belong to people: send /{command} from your own account, not anonymously or on "
    "behalf of a chat."
)
PER_PERIOD = {
    "day": N_("🎁 Free: {left} of {count} a day, renewing {when}"),
    "month": N_("🎁 Free: {left} of {count} a month, renewing {when}"),
}


def sender_of(message: Message, command: str, tr: Translator) -> int:
    """The id of the person whose credits a command is about: its sender (Rejected when it
    was sent on behalf of a chat, whose credits nobody owns)."""
    user = message.from_user
    if user is None or message.sender_chat is not None:
        raise Rejected(tr.gettext(NOT_AS_A_CHAT).format(command=command))
    return user.id


def balance_lines(tr: Translator, credits: Credits, balance: Balance, now: float) -> list[str]:
    """The user's credits: the total, the free ones (when there are any), the bought ones."""
    lines = [tr.gettext("💰 Your credits: {total}").format(total=balance.total)]
    if balance.free_per_period:
        lines.append(
            tr.gettext(PER_PERIOD[credits.period]).format(
                left=balance.free_left,
                count=balance.free_per_period,
                when=renewal(tr, balance.renews_at, now),
            )
        )
    lines.append(
        tr.gettext(
            "⭐ Bought: {count} (they never expire and are spent after the free ones)"
        ).format(count=balance.bought)
    )
    return lines


def price_lines(tr: Translator, credits: Credits, chosen: models.ChatModels) -> list[str]:
    """What each of the chat's models costs: per picture, per answer for the vision model."""

    def line(icon: str, entry: ModelEntry, each: str) -> str:
        cost = credits.cost_of(entry)
        price = tr.gettext("free") if cost == 0 else each.format(credits=amount(tr, cost))
        return f"{icon} {entry.id}: {price}"

    per_picture = tr.gettext("{credits} a picture")
    lines = [
        tr.gettext("What this chat's models cost:"),
        line("🎨", chosen.image, per_picture),
        line("🔎", chosen.vision, tr.gettext("{credits} an answer")),
    ]
    if chosen.edit is not None:
        lines.append(line("🖌", chosen.edit, per_picture))
    return lines


async def balance_text(runtime: Runtime, chat: Chat, user_id: int, tr: Translator) -> str:
    """The whole /balance answer for ``user_id`` in ``chat``."""
    credits = runtime.credits
    if not credits.enabled:
        return tr.gettext(FREE_HERE)
    chosen = await models.chat_models(runtime, chat.id)
    if credits.exempt(user_id):
        mine = [tr.gettext(OPERATOR)]
    else:
        mine = balance_lines(tr, credits, await credits.balance(user_id), time.time())
    blocks = ["\n".join(mine), "\n".join(price_lines(tr, credits, chosen))]
    if credits.packs and not credits.exempt(user_id):
        blocks.append(tr.gettext("Send /buy for more credits."))
    return "\n\n".join(blocks)


async def balance_command(update: Update, context: BotContext) -> None:
    """Replies with the sender's own credits and the chat's prices (in a group too: only
    the sender's, never anyone else's)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    if refusal := no_arguments(tr, "balance", arguments(message, context.bot.username)):
        raise Rejected(refusal)
    user_id = sender_of(message, "balance", tr)
    await message.reply_text(await balance_text(runtime, chat, user_id, tr))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler("balance", balance_command)]
