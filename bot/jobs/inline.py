"""Inline mode: ``@YourBot a red fox`` in any chat offers a result that, once chosen, shows a
status and becomes the picture.

The query is an /imagine prompt with the same flags (it may start with ``/imagine``). It is
answered with one article: the drawing to come, how to use this when nothing is typed yet, or
what is wrong. Choosing the drawing (Telegram reports it as a chosen_inline_result, with inline
feedback on in @BotFather) starts a job like /imagine for the user: their private chat's model
and settings, their cap, the same queue and fallback. Its status, outcome and picture are edits
of the inline message (see bot.jobs.life). An inline message takes no uploaded file, only a
file_id or a URL, so the pictures are first uploaded to INLINE_CACHE_CHAT_ID, else to the
user's private chat with the bot (and deleted there at once).

An inline message holds one picture (editMessageMedia makes no album, and an inline bot cannot
post more messages in that chat), so n pictures become picture 1 with ◀ ▶ buttons under it
that turn the message to the others by their file_ids, kept in the job's result (:class:`Pages`)
so the buttons outlive a restart. The message is public: anyone there may turn it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from telegram import (
    Bot,
    CallbackQuery,
    ChosenInlineResult,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputMediaDocument,
    InputMediaPhoto,
    InputTextMessageContent,
    Message,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.jobs import imagine
from bot.jobs.active import ActiveJob, JobFailed, Order, Work
from bot.jobs.flags import FlagError, parse_imagine
from bot.jobs.life import CANCELLED_BY_USER, RESENDING, inline_heading, stop_keyboard, submit
from bot.jobs.rejected import Rejected
from bot.jobs.result_buttons import PICTURES, edit_query
from bot.pictures.prepare import Picture
from bot.runtime import Runtime
from bot.runtime.languages import language_for
from bot.storage.records import UNFINISHED, JobRow
from bot.telegram import render
from bot.telegram.callback_data import CallbackData
from bot.telegram.delivery import UPLOAD_TIMEOUT, Undeliverable, albums, file_id_of, send_picture
from bot.telegram.flood import Priority, sending_as
from bot.telegram.sending import ChatGone, Postponed, persistently
from bot.telegram.status import delete, headed, is_gone, is_not_modified
from providers import ImageRequest, ModelEntry

log = logging.getLogger(__name__)

KIND = "inline"
DRAW = "draw"  # the result that starts a drawing; the other articles only show a text
# The same, chosen where a ✏️ (switch_inline_query_current_chat) button is not supported: a
# channel, or a chat Telegram did not name.
DRAW_PLAIN = "draw-plain"
EDIT_BUTTON = "edit_button"  # the job's option: its picture gets ✏️ Edit
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
PAGE_GONE = N_("Sorry, these pictures can no longer be turned here.")
EDIT_CHATS = frozenset({ChatType.SENDER, ChatType.PRIVATE, ChatType.GROUP, ChatType.SUPERGROUP})
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
        id=DRAW if query.chat_type in EDIT_CHATS else DRAW_PLAIN,
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
    if chosen.result_id not in (DRAW, DRAW_PLAIN) or inline_message_id is None:
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
                EDIT_BUTTON: chosen.result_id == DRAW,
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
    """The work of an inline job: follow the provider like /imagine, upload every picture, keep
    their file_ids, then make the inline message picture 1 (with ◀ ▶ when there are more)."""

    async def draw(job: ActiveJob) -> None:
        result, drawn = await imagine.follow(job, entry, request, None, accepted)
        tr, count = job.tr, len(result.images)
        job.show(render.delivering_text(tr, drawn.id, count, job.clock.elapsed))
        pictures = await imagine.fetch_pictures(job, result.images, drawn.provider.label)
        try:
            files = await _upload_all(job, pictures)
        except Postponed:
            raise JobFailed(tr.gettext(NOT_TAKEN)) from None
        except BadRequest as error:
            raise Undeliverable(str(error)) from error
        pages = Pages(drawn.id, result.seed, tuple(files))
        await job.runtime.storage.add_result(job.id, **pages.stored())
        await _become_first(job, pages)

    return draw


async def _become_first(job: ActiveJob, pages: Pages) -> None:
    """The job's inline message becomes the first of its pictures."""
    order = job.order
    media, markup = page(job.tr, job.id, order.prompt, order.model_id, order.options, pages, 0)
    try:
        await job.become(media, markup)
    except Postponed:
        raise JobFailed(job.tr.gettext(NOT_TAKEN)) from None
    except BadRequest as error:
        if is_gone(error):  # the message was deleted: nobody is waiting for the picture
            log.info("job %s: its inline message is gone (%s)", job.id, error)
            return
        raise Undeliverable(str(error)) from error


@dataclass(frozen=True)
class Pages:
    """What an inline job made, as its result keeps it: the model that drew, the seed, and each
    picture's file_id (and whether it is a photo or a document), in order."""

    model_id: str
    seed: int | None
    files: tuple[tuple[str, bool], ...]

    def stored(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "seed": self.seed,
            "count": len(self.files),
            "files": [[file_id, "photo" if photo else "document"] for file_id, photo in self.files],
        }

    @classmethod
    def of(cls, result: Mapping[str, Any] | None) -> Pages | None:
        """The pages a job's stored result holds, or None (none yet, or not readable)."""
        if not result:
            return None
        model, seed, files = result.get("model"), result.get("seed"), result.get("files")
        if not isinstance(model, str) or not isinstance(files, list) or not files:
            return None
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            return None
        pairs = []
        for item in files:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                return None
            pairs.append((item[0], item[1] == "photo"))
        return cls(model, seed, tuple(pairs))


@dataclass(frozen=True)
class InlinePage(CallbackData):
    """◀ or ▶ under an inline job's pictures: ``inline:page:<job>:<index>``, the picture
    (0-based) to show. Checked against the job of the pressed message."""

    prefix: ClassVar[str] = "inline:page"

    job_id: int
    index: int

    def __post_init__(self) -> None:
        if self.index >= PICTURES:
            raise ValueError(f"no picture {self.index} under an inline job")


def page(
    tr: Translator,
    job_id: int,
    prompt: str,
    requested: str,
    options: Mapping[str, Any],
    pages: Pages,
    index: int,
) -> tuple[InputMediaPhoto | InputMediaDocument, InlineKeyboardMarkup | None]:
    """Picture ``index`` of a job's ``pages`` as the inline message shows it: the media with its
    caption, in the job's language, and the keyboard under it (◀ ▶ to the picture before and
    after, round the ends, when there are several; ✏️ Edit where the chat takes it)."""
    count = len(pages.files)
    file_id, photo = pages.files[index]
    caption = inline_caption(tr, prompt, pages.model_id, pages.seed, requested, index, count)
    media: InputMediaPhoto | InputMediaDocument = (
        InputMediaPhoto(
            file_id,
            caption=caption,
            has_spoiler=bool(options.get(imagine.SPOILER)) or None,
            show_caption_above_media=bool(options.get(imagine.CAPTION_ABOVE)) or None,
        )
        if photo
        else InputMediaDocument(file_id, caption=caption)
    )
    rows: list[list[InlineKeyboardButton]] = []
    if count > 1:
        before, after = (index - 1) % count, (index + 1) % count
        rows.append(
            [
                InlineKeyboardButton("◀", callback_data=InlinePage(job_id, before).pack()),
                InlineKeyboardButton("▶", callback_data=InlinePage(job_id, after).pack()),
            ]
        )
    edit = edit_query(prompt, pages.seed) if options.get(EDIT_BUTTON) else None
    if edit is not None:
        rows.append(
            [InlineKeyboardButton(tr.gettext("✏️ Prompt"), switch_inline_query_current_chat=edit)]
        )
    return media, InlineKeyboardMarkup(rows) if rows else None


def inline_caption(
    tr: Translator,
    prompt: str,
    model_id: str,
    seed: int | None,
    instead_of: str,
    index: int = 0,
    count: int = 1,
) -> str:
    """/imagine's caption, starting "2/4 · " when the job made several pictures."""
    caption = render.caption(tr, prompt, model_id, seed, instead_of=instead_of)
    if count <= 1:
        return caption
    mark = f"{index + 1}/{count} · "
    excess = len(mark) + len(caption) - render.CAPTION_LIMIT
    if excess > 0:
        shorter = render.shorten(prompt, len(prompt) - excess)
        caption = render.caption(tr, shorter, model_id, seed, instead_of=instead_of)
    return mark + caption


@dataclass
class _Chat:
    """A fixed chat to send to (bot.sending.Destination), following it if it moves."""

    chat_id: int

    async def moved(self, new_chat_id: int) -> None:
        log.warning(
            "INLINE_CACHE_CHAT_ID %s is now %s: update the setting", self.chat_id, new_chat_id
        )
        self.chat_id = new_chat_id


async def _upload_all(job: ActiveJob, pictures: Sequence[Picture]) -> list[tuple[str, bool]]:
    """A file_id for each picture (and whether it is a photo), in order: the photos uploaded
    together, as an album, and the documents likewise (an album takes one kind)."""
    files: dict[int, tuple[str, bool]] = {}
    for photo in (True, False):
        indices = [i for i, picture in enumerate(pictures) if picture.as_photo is photo]
        for group in albums(len(indices)):
            batch = [indices[i] for i in group]
            ids = await _upload(job, [pictures[i] for i in batch])
            files.update({i: (file_id, photo) for i, file_id in zip(batch, ids, strict=True)})
    return [files[i] for i in range(len(pictures))]


async def _upload(job: ActiveJob, pictures: list[Picture]) -> list[str]:
    """File_ids for the pictures (all photos or all documents): uploaded to INLINE_CACHE_CHAT_ID
    (where they stay), else to the user's private chat with the bot (deleted there at once).
    JobFailed when the user never started the bot (or blocked it) and there is no cache chat."""
    bot = job.bot
    cache = job.runtime.settings.inline_cache_chat_id
    if cache is not None:
        try:
            messages = await persistently(
                lambda chat_id: _send(bot, chat_id, pictures),
                _Chat(cache),
                deadline=job.delivery_deadline(),
            )
            return _file_ids(messages, pictures)
        except (ChatGone, BadRequest) as error:
            log.warning(
                "INLINE_CACHE_CHAT_ID %s refused a picture (%s); using the user's chat",
                cache,
                error,
            )
    try:
        messages = await job.send(lambda chat_id: _send(bot, chat_id, pictures))
    except ChatGone:
        raise JobFailed(job.tr.gettext(START_ME).format(bot=bot.username)) from None
    chat_id, ids = messages[0].chat_id, [m.message_id for m in messages]
    try:
        if len(ids) == 1:
            await delete(bot, chat_id, ids[0])
        else:
            await bot.delete_messages(chat_id, ids)
    except TelegramError as error:
        log.warning("job %s: could not delete its upload: %s", job.id, error)
    return _file_ids(messages, pictures)


async def _send(bot: Bot, chat_id: int, pictures: list[Picture]) -> list[Message]:
    if len(pictures) == 1:
        [picture] = pictures
        return [await send_picture(bot, chat_id, picture, as_photo=picture.as_photo, quietly=True)]
    media = [
        InputMediaPhoto(p.data, filename=p.filename)
        if p.as_photo
        else InputMediaDocument(p.data, filename=p.filename)
        for p in pictures
    ]
    sent = await bot.send_media_group(
        chat_id,
        media,
        disable_notification=True,
        read_timeout=UPLOAD_TIMEOUT,
        write_timeout=UPLOAD_TIMEOUT,
    )
    return list(sent)


def _file_ids(messages: Sequence[Message], pictures: Sequence[Picture]) -> list[str]:
    file_ids = [file_id_of(message) for message in messages]
    if len(file_ids) != len(pictures) or None in file_ids:
        raise Undeliverable("the upload came back without a file")
    return [file_id for file_id in file_ids if file_id is not None]


def resumption(runtime: Runtime, row: JobRow) -> tuple[str, Work] | None:
    """How to take a stored inline job up again after a restart: its pictures shown when they
    were uploaded already, else drawn like /imagine's (see
    :func:`bot.jobs.imagine.redrawing`); None if it cannot be."""
    pages = Pages.of(row.result)
    if pages is not None:
        tr = translator(row.language or ENGLISH)

        async def show(job: ActiveJob) -> None:
            await _become_first(job, pages)

        return tr.gettext(RESENDING), show
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


# -- ◀ ▶ under the pictures --------------------------------------------------------------------


@dataclass
class _Turning:
    """An inline message being turned: the picture asked for by the newest valid press."""

    index: int
    press: int  # the press's place in arrival order


_turning: dict[str, _Turning] = {}
_presses = itertools.count()  # arrival order of ◀ ▶ presses, taken before the handler awaits


async def turn(runtime: Runtime, query: CallbackQuery) -> None:
    """◀ or ▶ under an inline job's pictures, pressed by anyone who sees the message: shows the
    picture the button names, by the file_id kept in the job's result; stale or forged data
    gets an alert. Presses while an edit waits for Telegram's flood budget only change which
    picture that edit shows next (one edit at a time per message, the latest press wins, in
    the order the presses arrived whatever order their lookups finish in)."""
    arrived = next(_presses)
    press = InlinePage.unpack(query.data)
    inline_message_id = query.inline_message_id
    row = (
        await runtime.storage.job_for_inline_message(inline_message_id)
        if press is not None and inline_message_id
        else None
    )
    pages = Pages.of(row.result) if row is not None else None
    if (
        press is None
        or row is None
        or inline_message_id is None
        or pages is None
        or row.id != press.job_id
        or press.index >= len(pages.files)
    ):
        tr = await texts_for_user(runtime, query.from_user)
        await query.answer(tr.gettext(PAGE_GONE), show_alert=True)
        return
    waiting = _turning.get(inline_message_id)
    if waiting is not None:
        if arrived > waiting.press:  # the edit under way shows this one next
            waiting.index, waiting.press = press.index, arrived
        await query.answer()
        return
    _turning[inline_message_id] = wanted = _Turning(press.index, arrived)
    try:
        await query.answer()
        shown: int | None = None
        while wanted.index != shown:
            shown = wanted.index
            await _show_page(query.get_bot(), row, inline_message_id, pages, shown)
    finally:
        del _turning[inline_message_id]


async def _show_page(
    bot: Bot, row: JobRow, inline_message_id: str, pages: Pages, index: int
) -> None:
    tr = translator(row.language or ENGLISH)
    media, markup = page(tr, row.id, row.prompt, row.model, row.options, pages, index)
    try:
        with sending_as(Priority.ANSWER):
            await bot.edit_message_media(
                media, inline_message_id=inline_message_id, reply_markup=markup
            )
    except BadRequest as error:
        if not is_not_modified(error):  # two presses for the same picture: it is shown
            log.info("inline message %s not turned: %s", inline_message_id, error)
    except TelegramError as error:
        log.warning("inline message %s not turned: %s", inline_message_id, error)
