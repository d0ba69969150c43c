"""Inline mode: ``@YourBot a red fox`` in any chat offers a result that, once chosen, shows a
status and becomes the picture.

The query is an /imagine prompt with the same flags (it may start with ``/imagine``). It is
answered with one article: the drawing to come, how to use this when nothing is typed yet, or
what is wrong. Choosing the drawing (Telegram reports it as a chosen_inline_result, with inline
feedback on in @BotFather) starts a job like /imagine for the user: their private chat's model
and settings, their cap, the same queue and fallback. Its status, outcome and picture are edits
of the inline message (see bot.lifecycle). An inline message takes no uploaded file, only a
file_id or a URL, so the picture is first uploaded to INLINE_CACHE_CHAT_ID, else to the user's
private chat with the bot (and deleted there at once).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass

from telegram import (
    Bot,
    CallbackQuery,
    ChosenInlineResult,
    InlineQuery,
    InlineQueryResultArticle,
    InputMediaDocument,
    InputMediaPhoto,
    InputTextMessageContent,
    Message,
    User,
)
from telegram.error import BadRequest, TelegramError

from bot.i18n import N_, Translator, translator
from bot.jobs import imagine
from bot.jobs.active import ActiveJob, JobFailed, Order, Work
from bot.jobs.flags import FlagError, parse_imagine
from bot.jobs.life import CANCELLED_BY_USER, inline_heading, stop_keyboard, submit
from bot.jobs.rejected import Rejected
from bot.pictures.prepare import Picture
from bot.runtime import Runtime
from bot.runtime.languages import language_for
from bot.storage.records import UNFINISHED, JobRow
from bot.telegram import render
from bot.telegram.delivery import Undeliverable, file_id_of, send_picture
from bot.telegram.sending import ChatGone, Postponed, persistently
from bot.telegram.status import delete, headed, is_gone
from providers import ImageRequest, ModelEntry

log = logging.getLogger(__name__)

KIND = "inline"
DRAW = "draw"  # the result that starts a drawing; the other articles only show a text
USAGE = "usage"
PROBLEM = "problem"
COMMAND_RE = re.compile(r"^/imagine(?:@\w+)?(?:\s+|$)", re.IGNORECASE)
TITLE_LENGTH = 100

USAGE_TITLE = N_("Type what to draw")
USAGE_DESCRIPTION = N_("For example: a red fox in the snow --ar 16:9")
USAGE_TEXT = N_(
    "To draw in any chat, type @{bot} and what to draw, then pick the result, for example:\n"
    "@{bot} a red fox in the snow --ar 16:9\n"
    "The options are those of /imagine; the model is the one you chose in our private chat."
)
WILL_DRAW = N_("{model} will draw it")
DRAWING = N_("⏳ Getting ready to draw…")
START_ME = N_(
    "⚠️ I can put pictures here only once you have started me: open @{bot}, press Start, "
    "then try again."
)
NOT_TAKEN = N_("⚠️ Telegram is not taking the picture right now; please try again later.")
FIRST_OF = N_("🖼 1 of {count}")
NOT_RUNNING = N_("This picture is not being drawn any more.")
NOT_YOURS = N_("Only the one who asked for this picture can stop it.")
STOPPING = N_("Stopping…")


def prompt_text(query: str) -> str:
    """What to draw, from an inline query: its text without a leading ``/imagine``."""
    text = query.strip()
    match = COMMAND_RE.match(text)
    return text[match.end() :] if match else text


async def texts_for_user(runtime: Runtime, user: User) -> Translator:
    """The user's language: the one chosen in our private chat, else their Telegram one."""
    return translator(await language_for(runtime, user.id, user))


# -- the query ---------------------------------------------------------------------------------


async def answer(runtime: Runtime, query: InlineQuery) -> None:
    """Answers an inline query with one article, never cached (it depends on the user's model
    and settings, and on the providers' health)."""
    tr = await texts_for_user(runtime, query.from_user)
    result = await _article(runtime, query.get_bot().username, query.from_user.id, query, tr)
    try:
        await query.answer([result], cache_time=0, is_personal=True)
    except BadRequest as error:  # too late: the user typed on, a newer query follows
        log.info("inline query %s not answered: %s", query.id, error)


async def _article(
    runtime: Runtime, username: str, user_id: int, query: InlineQuery, tr: Translator
) -> InlineQueryResultArticle:
    text = prompt_text(query.query)
    if not text:
        return InlineQueryResultArticle(
            id=USAGE,
            title=tr.gettext(USAGE_TITLE),
            description=tr.gettext(USAGE_DESCRIPTION),
            input_message_content=InputTextMessageContent(
                tr.gettext(USAGE_TEXT).format(bot=username)
            ),
        )
    try:
        built = await imagine.build_request(runtime, user_id, parse_imagine(text, tr), tr)
    except (FlagError, Rejected) as error:
        return problem_article(str(error))
    prompt = built.request.prompt
    return InlineQueryResultArticle(
        id=DRAW,
        title=f"🎨 {render.shorten(prompt, TITLE_LENGTH)}",
        description=tr.gettext(WILL_DRAW).format(model=built.entry.id),
        input_message_content=InputTextMessageContent(
            headed(inline_heading(prompt), tr.gettext(DRAWING))
        ),
        # The keyboard is what makes Telegram report the message's id (and it stops the job).
        reply_markup=stop_keyboard(tr),
    )


def problem_article(reason: str) -> InlineQueryResultArticle:
    """An article saying what is wrong: its title the first line, its description the rest;
    choosing it only posts the text (no keyboard, so nothing can start)."""
    first, _, rest = reason.partition("\n")
    return InlineQueryResultArticle(
        id=PROBLEM,
        title=_warning(render.shorten(first, TITLE_LENGTH)),
        description=rest or None,
        input_message_content=InputTextMessageContent(_warning(reason)),
    )


def _warning(text: str) -> str:
    return text if text.startswith(("⚠️", "⏹")) else f"⚠️ {text}"


# -- the chosen result -------------------------------------------------------------------------


async def start(runtime: Runtime, bot: Bot, chosen: ChosenInlineResult, update_id: int) -> None:
    """Starts the drawing the user chose, in its inline message, or says there why it cannot
    (a bad option, the user at their cap)."""
    inline_message_id = chosen.inline_message_id
    if chosen.result_id != DRAW or inline_message_id is None:
        return  # the usage or a problem: there is nothing to start
    user = chosen.from_user
    tr = await texts_for_user(runtime, user)
    text = prompt_text(chosen.query)
    try:
        built = await imagine.build_request(runtime, user.id, parse_imagine(text, tr), tr)
        entry, request = built.entry, built.request
        order = Order(
            kind=KIND,
            chat_id=user.id,
            user_id=user.id,
            command_message_id=update_id,
            thread_id=None,
            prompt=request.prompt,
            model_id=entry.id,
            options={
                **dataclasses.asdict(request),
                imagine.SPOILER: built.look.spoiler,
                imagine.CAPTION_ABOVE: built.look.caption_above,
            },
            language=tr.language,
            inline_message_id=inline_message_id,
        )
        await submit(
            runtime, bot, order, render.starting_text(tr, entry.id), drawing(entry, request)
        )
    except (FlagError, Rejected) as error:
        note = headed(inline_heading(text), _warning(str(error)))
        try:
            await bot.edit_message_text(note, inline_message_id=inline_message_id)
        except TelegramError as failure:
            log.warning("could not tell inline message %s why: %s", inline_message_id, failure)


def drawing(
    entry: ModelEntry, request: ImageRequest, accepted: imagine.Accepted | None = None
) -> Work:
    """The work of an inline job: follow the provider like /imagine, then make the inline
    message the first picture (the caption says "1 of N" when there are more)."""

    async def draw(job: ActiveJob) -> None:
        result, drawn = await imagine.follow(job, entry, request, None, accepted)
        tr, count = job.tr, len(result.images)
        job.show(render.delivering_text(tr, drawn.id, 1, job.clock.elapsed))
        [picture] = await imagine.fetch_pictures(job, result.images[:1], drawn.provider.label)
        caption = inline_caption(tr, request.prompt, drawn.id, result.seed, entry.id, count)
        options = job.order.options
        try:
            file_id = await _upload(job, picture)
            media: InputMediaPhoto | InputMediaDocument = (
                InputMediaPhoto(
                    file_id,
                    caption=caption,
                    has_spoiler=bool(options.get(imagine.SPOILER)) or None,
                    show_caption_above_media=bool(options.get(imagine.CAPTION_ABOVE)) or None,
                )
                if picture.as_photo
                else InputMediaDocument(file_id, caption=caption)
            )
            await job.become(media)
        except Postponed:
            raise JobFailed(tr.gettext(NOT_TAKEN)) from None
        except BadRequest as error:
            if is_gone(error):  # the message was deleted: nobody is waiting for the picture
                log.info("job %s: its inline message is gone (%s)", job.id, error)
                return
            raise Undeliverable(str(error)) from error

    return draw


def inline_caption(
    tr: Translator, prompt: str, model_id: str, seed: int | None, instead_of: str, count: int
) -> str:
    """/imagine's caption, with "1 of N" when the job made more pictures than the one shown."""
    caption = render.caption(tr, prompt, model_id, seed, instead_of=instead_of)
    if count <= 1:
        return caption
    note = tr.gettext(FIRST_OF).format(count=count)
    excess = len(caption) + 1 + len(note) - render.CAPTION_LIMIT
    if excess > 0:
        shorter = render.shorten(prompt, len(prompt) - excess)
        caption = render.caption(tr, shorter, model_id, seed, instead_of=instead_of)
    return f"{caption}\n{note}"


@dataclass
class _Chat:
    """A fixed chat to send to (bot.sending.Destination), following it if it moves."""

    chat_id: int

    async def moved(self, new_chat_id: int) -> None:
        log.warning(
            "INLINE_CACHE_CHAT_ID %s is now %s: update the setting", self.chat_id, new_chat_id
        )
        self.chat_id = new_chat_id


async def _upload(job: ActiveJob, picture: Picture) -> str:
    """A file_id for the picture: uploaded to INLINE_CACHE_CHAT_ID (where it stays), else to the
    user's private chat with the bot (deleted there at once). JobFailed when the user never
    started the bot (or blocked it) and there is no cache chat."""
    bot = job.bot
    cache = job.runtime.settings.inline_cache_chat_id
    if cache is not None:
        try:
            message = await persistently(
                lambda chat_id: _send(bot, chat_id, picture),
                _Chat(cache),
                deadline=job.delivery_deadline(),
            )
            return _file_id(message)
        except (ChatGone, BadRequest) as error:
            log.warning(
                "INLINE_CACHE_CHAT_ID %s refused a picture (%s); using the user's chat",
                cache,
                error,
            )
    try:
        message = await job.send(lambda chat_id: _send(bot, chat_id, picture))
    except ChatGone:
        raise JobFailed(job.tr.gettext(START_ME).format(bot=bot.username)) from None
    try:
        await delete(bot, message.chat_id, message.message_id)
    except TelegramError as error:
        log.warning("job %s: could not delete its upload: %s", job.id, error)
    return _file_id(message)


async def _send(bot: Bot, chat_id: int, picture: Picture) -> Message:
    return await send_picture(bot, chat_id, picture, as_photo=picture.as_photo, quietly=True)


def _file_id(message: Message) -> str:
    file_id = file_id_of(message)
    if file_id is None:
        raise Undeliverable("the upload came back without a file")
    return file_id


def resumption(runtime: Runtime, row: JobRow) -> tuple[str, Work] | None:
    """How to take a stored inline job up again after a restart, like /imagine's (see
    :func:`bot.services.imagine.redrawing`), or None if it cannot be."""
    return imagine.redrawing(runtime, row, drawing)


# -- the Stop button ---------------------------------------------------------------------------


async def stop(runtime: Runtime, query: CallbackQuery) -> None:
    """The Stop button under an inline job: stops the job when the one who asked pressed it."""
    tr = await texts_for_user(runtime, query.from_user)
    row = (
        await runtime.storage.job_for_inline_message(query.inline_message_id)
        if query.inline_message_id
        else None
    )
    if row is None or row.status not in UNFINISHED:
        await query.answer(tr.gettext(NOT_RUNNING))
    elif row.user_id != query.from_user.id:
        await query.answer(tr.gettext(NOT_YOURS), show_alert=True)
    elif runtime.jobs.cancel_job(row.id, CANCELLED_BY_USER):
        await query.answer(tr.gettext(STOPPING))
    else:
        await query.answer(tr.gettext(NOT_RUNNING))
