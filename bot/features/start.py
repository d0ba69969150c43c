"""/start and /help: what the bot does and how to use it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import N_, Translator
from bot.runtime import BotContext
from bot.runtime.languages import texts_for

HELP = N_("""\
Hi! I draw pictures and answer questions about photos.

🎨 /imagine <prompt> — draw it. Options:
  --ar 16:9   aspect ratio
  --n 4       number of images (model permitting)
  --seed 42   repeatable results
  --no text   what to leave out
  --steps 30  --cfg 7  finer control
  --model sd-3.5   use another model just this once
Example: /imagine a lighthouse at dawn, watercolor --ar 3:2 --n 2

🖌 /edit <what to change> — as the caption of a photo (or of an album: one picture from \
several) or as a reply to one: "make it winter", "turn it into a watercolour". In a private \
chat a photo with those words as its caption is enough.
  --strength 0.6   how far it may move (model permitting)

🧠 /model — show this chat's models and pick others; /model arta/watercolor sets one directly.
⚙️ /settings — this chat's defaults: aspect ratio, number of images, negative prompt, spoiler, \
caption above or below.
🔎 /ask <question> — as the caption of a photo, as a reply to a photo, or with text alone.
📝 /describe — as the caption of a photo or a reply to one: a prompt that draws something \
like it, with a button that draws it.
⏹ /cancel — stop your running jobs in this chat.
📡 /providers — which providers work right now; when one fails, jobs move on to another.
🌐 /language — English or Russian for this chat (I follow your Telegram language by default).
❓ /help — this message.

Under every picture: 🔄 again with a new seed, 🎲 variations, 📎 the original file, \
🔎 describe it, 🖌 edit it.

In groups, address me as /imagine@{username}.""")
CREDITS_HELP = N_(
    "💰 /balance — your credits and what this chat's models cost. ⭐ /buy — more credits for "
    "Telegram Stars, where the bot sells them; /paysupport — help with a payment."
)
INLINE_HELP = N_(
    "💬 In any chat, type @{username} and a prompt, then pick the result to draw there; "
    "✏️ under a picture puts its prompt there to change."
)


def help_text(tr: Translator, username: str, inline: bool, credits: bool = True) -> str:
    """The help in ``tr``'s language; the inline-mode lines (and the ✏️ button they explain)
    only when the bot has inline mode on; /balance, /buy and /paysupport only where credits
    are counted."""
    text = tr.gettext(HELP).format(username=username)
    if inline:
        text += "\n" + tr.gettext(INLINE_HELP).format(username=username)
    if credits:
        text += "\n\n" + tr.gettext(CREDITS_HELP)
    return text


async def help_command(update: Update, context: BotContext) -> None:
    """Replies with the help text (commands, options and an example) in the chat's language."""
    if update.effective_message is None:
        return
    tr = await texts_for(context.runtime, update)
    text = help_text(
        tr,
        context.bot.username,
        context.bot.supports_inline_queries,
        credits=context.runtime.credits.enabled,
    )
    await update.effective_message.reply_text(text)


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [CommandHandler(["start", "help"], help_command)]
