"""/model: the chat's image, vision and edit models, a paged keyboard by provider (and a 🖌 tab
of every edit model), and /model <id>."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import N_, Translator
from bot.i18n.errors import unknown_model
from bot.jobs.rejected import Rejected
from bot.runtime import BotContext, Runtime, models
from bot.runtime.languages import texts_for
from bot.runtime.permissions import may_change
from bot.telegram.callback_data import CallbackData, patterns
from bot.telegram.commands import arguments, too_long
from bot.telegram.status import redraw_menu
from providers import Kind, ModelEntry, Provider, UnknownModel
from providers.routing.health import State

PER_PAGE = 10
PER_ROW = 2
TABS_PER_ROW = 4
STALE = N_("This button is out of date. Send /model again.")
ADMINS_ONLY = N_("Only this group's admins can change its models.")
EDIT_TAB = "🖌"
NO_EDITS = N_(
    "No model here edits pictures: the built-in providers draw from text only. The bot's "
    "operator can add one that does (OpenAI, Pollinations, fal, Replicate or a Gradio Space)."
)


@dataclass(frozen=True)
class ModelPage(CallbackData):
    """A provider's tab or a paging arrow: ``mdl:t:<tab>:<page>``."""

    prefix: ClassVar[str] = "mdl:t"

    tab: int
    page: int


@dataclass(frozen=True)
class ModelPick(CallbackData):
    """A model's button: ``mdl:s:<short id>``."""

    prefix: ClassVar[str] = "mdl:s"

    short_id: str


@dataclass(frozen=True)
class PageNumber(CallbackData):
    """The "2/5" between the arrows: ``mdl:noop``, does nothing."""

    prefix: ClassVar[str] = "mdl:noop"


def tabs(runtime: Runtime) -> list[Provider]:
    """Providers in keyboard order: those that draw first, then those that only answer."""
    registry = runtime.registry
    return sorted(registry.providers, key=lambda p: not registry.of_provider(p, Kind.IMAGE))


def summary(runtime: Runtime, chosen: models.ChatModels, tr: Translator) -> str:
    """The chat's models (noting a provider that is down) and how to change them."""

    def line(icon: str, text: str, entry: ModelEntry) -> str:
        down = runtime.health.of(entry.provider.name).state is State.DOWN
        note = (
            " "
            + tr.gettext("(❌ {provider} is down: jobs use a fallback)").format(
                provider=entry.provider.label
            )
            if down
            else ""
        )
        return f"{icon} {text.format(model=entry.id)}{note}\n"

    edits = (
        line("🖌", tr.gettext("Edit model: {model}"), chosen.edit)
        if chosen.edit is not None
        else f"🖌 {tr.gettext(NO_EDITS)}\n"
    )
    prices = (
        tr.gettext("🪙 beside a model: its price in credits per picture (/balance).") + "\n"
        if runtime.credits.enabled
        else ""
    )
    return (
        line("🎨", tr.gettext("Image model: {model}"), chosen.image)
        + line("🔎", tr.gettext("Vision model: {model}"), chosen.vision)
        + edits
        + "\n"
        + prices
        + tr.gettext("Pick another below, or send /model <id> (for example /model sd-3.5).")
    )


def tab_label(runtime: Runtime, provider: Provider, selected: bool) -> str:
    """A provider's tab: "• " when shown, "❌ " while it is down."""
    down = "❌ " if runtime.health.of(provider.name).state is State.DOWN else ""
    return ("• " if selected else "") + down + provider.label


def button_label(
    entry: ModelEntry, chosen: models.ChatModels, *, full: bool = False, cost: int = 0
) -> str:
    """A model's button: ✅ when the chat uses it, 🪙 and its price per picture where it
    costs credits; ``full`` names it by id (the 🖌 tab mixes providers)."""
    name = entry.upstream if len(entry.upstream) <= 24 else entry.alias
    name = entry.id if full else name
    price = f" · 🪙{cost}" if cost else ""
    return ("✅ " if entry in (chosen.image, chosen.vision, chosen.edit) else "") + name + price


def tab_entries(runtime: Runtime, tab: int) -> list[ModelEntry]:
    """The models tab ``tab`` lists: a provider's image and vision models, or (the last tab,
    when there are edit models) every edit model."""
    providers = tabs(runtime)
    if tab >= len(providers):
        return runtime.registry.entries_of(Kind.EDIT)
    return [e for e in runtime.registry.of_provider(providers[tab]) if e.kind != Kind.EDIT]


def tab_count(runtime: Runtime) -> int:
    """The providers' tabs, and the 🖌 tab when some model edits."""
    return len(tabs(runtime)) + (1 if runtime.registry.entries_of(Kind.EDIT) else 0)


def keyboard(
    runtime: Runtime, chosen: models.ChatModels, tab: int, page: int
) -> InlineKeyboardMarkup:
    """Provider tabs, one page of that provider's models, and paging arrows."""
    providers = tabs(runtime)
    tab = min(max(tab, 0), tab_count(runtime) - 1)
    entries = tab_entries(runtime, tab)
    pages = max(1, -(-len(entries) // PER_PAGE))
    page = min(max(page, 0), pages - 1)
    labels = [tab_label(runtime, p, i == tab) for i, p in enumerate(providers)]
    if tab_count(runtime) > len(providers):
        labels.append(("• " if tab == len(providers) else "") + EDIT_TAB)
    tab_buttons = [
        InlineKeyboardButton(label, callback_data=ModelPage(i, 0).pack())
        for i, label in enumerate(labels)
    ]
    rows = [tab_buttons[i : i + TABS_PER_ROW] for i in range(0, len(tab_buttons), TABS_PER_ROW)]
    shown = entries[page * PER_PAGE : (page + 1) * PER_PAGE]
    for start in range(0, len(shown), PER_ROW):
        rows.append(
            [
                InlineKeyboardButton(
                    button_label(
                        e,
                        chosen,
                        full=tab == len(providers),
                        cost=runtime.credits.cost_of(e) if runtime.credits.enabled else 0,
                    ),
                    callback_data=ModelPick(e.short_id).pack(),
                )
                for e in shown[start : start + PER_ROW]
            ]
        )
    if pages > 1:
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=ModelPage(tab, (page - 1) % pages).pack()),
                InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=PageNumber().pack()),
                InlineKeyboardButton("▶", callback_data=ModelPage(tab, (page + 1) % pages).pack()),
            ]
        )
    return InlineKeyboardMarkup(rows)


def tab_of(runtime: Runtime, entry: ModelEntry) -> tuple[int, int]:
    """The tab and page on which ``entry`` appears."""
    providers = tabs(runtime)
    tab = len(providers) if entry.kind == Kind.EDIT else providers.index(entry.provider)
    return tab, tab_entries(runtime, tab).index(entry) // PER_PAGE


async def model_command(update: Update, context: BotContext) -> None:
    """Without arguments: shows the models and the keyboard. With an id: sets that model."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    wanted = arguments(message, context.bot.username).strip()
    if refusal := too_long(tr, "model", wanted):
        raise Rejected(refusal)
    if wanted:
        try:
            entry = runtime.registry.resolve(wanted)
        except UnknownModel as error:
            see = tr.gettext("Send /model to see the choices.")
            await message.reply_text(f"{unknown_model(tr, error)} {see}")
            return
        if not await may_change(context, chat, update.effective_user, message):
            await message.reply_text(tr.gettext(ADMINS_ONLY))
            return
        await models.choose(runtime, chat.id, entry)
        text = {
            Kind.IMAGE: tr.gettext("Image model for this chat: {model}"),
            Kind.VISION: tr.gettext("Vision model for this chat: {model}"),
            Kind.EDIT: tr.gettext("Edit model for this chat: {model}"),
        }[entry.kind]
        await message.reply_text(text.format(model=entry.id))
        return
    chosen = await models.chat_models(runtime, chat.id)
    tab, page = tab_of(runtime, chosen.image)
    await message.reply_text(
        summary(runtime, chosen, tr), reply_markup=keyboard(runtime, chosen, tab, page)
    )


async def model_button(update: Update, context: BotContext) -> None:
    """Switches tab or page, or stores the pressed model; stale or forged data changes nothing."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None:
        return
    runtime = context.runtime
    tr = await texts_for(runtime, update)
    if chat is None or not isinstance(query.message, Message):
        await query.answer(tr.gettext(STALE))
        return
    if PageNumber.unpack(query.data) is not None:
        await query.answer()
        return
    turn = ModelPage.unpack(query.data)
    if turn is not None:
        await query.answer()
        chosen = await models.chat_models(runtime, chat.id)
        await _redraw(query, runtime, chosen, tr, turn.tab, turn.page)
        return
    pick = ModelPick.unpack(query.data)
    entry = runtime.registry.by_short_id(pick.short_id) if pick is not None else None
    if entry is None:
        await query.answer(tr.gettext(STALE), show_alert=True)
        return
    if not await may_change(context, chat, query.from_user, None):
        await query.answer(tr.gettext(ADMINS_ONLY), show_alert=True)
        return
    await models.choose(runtime, chat.id, entry)
    await query.answer(tr.gettext("Now using {model}").format(model=entry.id))
    chosen = await models.chat_models(runtime, chat.id)
    tab, page = tab_of(runtime, entry)
    await _redraw(query, runtime, chosen, tr, tab, page)


async def _redraw(
    query: CallbackQuery,
    runtime: Runtime,
    chosen: models.ChatModels,
    tr: Translator,
    tab: int,
    page: int,
) -> None:
    await redraw_menu(query, summary(runtime, chosen, tr), keyboard(runtime, chosen, tab, page))


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    return [
        CommandHandler("model", model_command),
        CallbackQueryHandler(model_button, pattern=patterns(ModelPage, ModelPick, PageNumber)),
    ]
