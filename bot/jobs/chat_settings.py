"""A chat's /settings: defaults for /imagine and how its results are shown.

Reading them, changing them from what a user typed or pressed, and applying them to an
/imagine whose flags leave a value open (adapting what the chosen model cannot take).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.i18n import N_, Translator
from bot.jobs.flags import ImagineArgs
from bot.runtime import Runtime
from providers import ImageOptions

MAX_IMAGES = 10
MAX_NEGATIVE = 300
OFF_WORDS = frozenset({"off", "none", "default", "-", "выкл", "нет", "сброс"})
ON_WORDS = frozenset({"on", "yes", "вкл", "да"})
ABOVE_WORDS = frozenset({"above", "top", "сверху", "над"})
BELOW_WORDS = frozenset({"below", "bottom", "снизу", "под"})
USAGE = N_(
    "I know these settings: ar (aspect ratio), n (number of images), no (negative prompt), "
    "spoiler, caption, reset. For example: /settings ar 16:9, /settings n 2, "
    "/settings no blurry, text, /settings spoiler on, /settings caption above."
)


RATIO_RE = re.compile(r"(\d{1,2})\s*[:x/]\s*(\d{1,2})")


@dataclass(frozen=True)
class ChatSettings:
    """What /settings shows; ``None`` means "the model's own default"."""

    aspect_ratio: str | None = None
    image_count: int | None = None
    negative_prompt: str | None = None
    spoiler: bool = False
    caption_above: bool = False


class SettingError(ValueError):
    """What the user typed cannot be a setting; ``str(error)`` says what to send instead."""


async def load(runtime: Runtime, chat_id: int) -> ChatSettings:
    """The chat's settings (defaults when it never chose)."""
    prefs = await runtime.storage.get_prefs(chat_id)
    return ChatSettings(
        aspect_ratio=prefs.aspect_ratio,
        image_count=prefs.image_count,
        negative_prompt=prefs.negative_prompt,
        spoiler=bool(prefs.spoiler),
        caption_above=bool(prefs.caption_above),
    )


RESET: dict[str, Any] = {
    "aspect_ratio": None,
    "image_count": None,
    "negative_prompt": None,
    "spoiler": None,
    "caption_above": None,
}


async def store(runtime: Runtime, chat_id: int, change: dict[str, Any]) -> None:
    """Stores the changed columns (see :func:`parse`); the others stay."""
    await runtime.storage.set_prefs(chat_id, **change)


def ratio(raw: str) -> str | None:
    """``16:9`` (also ``16x9``, ``16/9``) normalised, or None when it is not a ratio."""
    match = RATIO_RE.fullmatch(raw.strip())
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        return None
    return f"{int(match.group(1))}:{int(match.group(2))}"


def parse(text: str, tr: Translator) -> dict[str, Any]:
    """The columns to change for ``/settings <text>``, e.g. ``ar 16:9``, ``n 2``,
    ``no blurry, text``, ``spoiler on``, ``caption above``, ``reset``.

    Raises SettingError (in ``tr``'s language) for anything else; nothing is changed then.
    """
    name, _, rest = text.strip().partition(" ")
    name, value = name.lower(), rest.strip()
    word = value.lower()
    if name in ("reset", "сброс") and not value:
        return dict(RESET)
    if name in ("ar", "aspect"):
        if word in OFF_WORDS:
            return {"aspect_ratio": None}
        chosen = ratio(value)
        if chosen is None:
            raise SettingError(
                tr.gettext(
                    "The aspect ratio looks like W:H, for example /settings ar 16:9 "
                    "(or /settings ar off)."
                )
            )
        return {"aspect_ratio": chosen}
    if name in ("n", "count"):
        if word in OFF_WORDS:
            return {"image_count": None}
        if not word.isdigit() or not 1 <= int(word) <= MAX_IMAGES:
            raise SettingError(
                tr.gettext("The number of images is 1 to {max}, for example /settings n 2.").format(
                    max=MAX_IMAGES
                )
            )
        return {"image_count": int(word)}
    if name in ("no", "neg", "negative"):
        if not value:
            raise SettingError(
                tr.gettext(
                    "Say what to keep out of the pictures, for example /settings no blurry, "
                    "text (or /settings no off)."
                )
            )
        if word in OFF_WORDS:
            return {"negative_prompt": None}
        if len(value) > MAX_NEGATIVE:
            raise SettingError(
                tr.gettext("The negative prompt can be at most {max} characters.").format(
                    max=MAX_NEGATIVE
                )
            )
        return {"negative_prompt": value}
    if name == "spoiler":
        if word in ON_WORDS or word in OFF_WORDS:
            return {"spoiler": word in ON_WORDS}
        raise SettingError(tr.gettext("Send /settings spoiler on or /settings spoiler off."))
    if name == "caption":
        if word in ABOVE_WORDS or word in BELOW_WORDS:
            return {"caption_above": word in ABOVE_WORDS}
        raise SettingError(tr.gettext("Send /settings caption above or /settings caption below."))
    raise SettingError(tr.gettext(USAGE))


@dataclass(frozen=True)
class Applied:
    """/imagine's arguments with the chat's defaults filled in, and notes (in the user's
    language) about stored values the model could not take."""

    args: ImagineArgs
    notes: list[str]


def apply(
    settings: ChatSettings,
    args: ImagineArgs,
    model_id: str,
    options: ImageOptions | None,
    tr: Translator,
) -> Applied:
    """Fills what the flags leave open from the chat's settings. A stored value the model cannot
    take is lowered to what it can (the number of images) or left out, each with a note;
    flags the user typed are never changed (they are checked as before)."""
    notes: list[str] = []
    n, aspect, negative = args.n, args.aspect_ratio, args.negative_prompt
    if n is None and settings.image_count is not None:
        n = settings.image_count
        most = options.max_images if options is not None else 1
        if n > most:
            notes.append(
                tr.ngettext(
                    "{model} makes at most {max} image at a time, so I draw {max} instead of "
                    "this chat's {n}.",
                    "{model} makes at most {max} images at a time, so I draw {max} instead of "
                    "this chat's {n}.",
                    most,
                ).format(model=model_id, max=most, n=n)
            )
            n = most
    if aspect is None and settings.aspect_ratio is not None:
        if options is not None and settings.aspect_ratio in options.aspect_ratios:
            aspect = settings.aspect_ratio
        else:
            notes.append(
                tr.gettext(
                    "{model} cannot draw this chat's aspect ratio {ratio}, so I use its default."
                ).format(model=model_id, ratio=settings.aspect_ratio)
            )
    if negative is None and settings.negative_prompt:
        if options is not None and options.negative_prompt:
            negative = settings.negative_prompt
        else:
            notes.append(
                tr.gettext(
                    "{model} does not take a negative prompt, so this chat's is left out."
                ).format(model=model_id)
            )
    filled = ImagineArgs(
        prompt=args.prompt,
        n=n,
        seed=args.seed,
        aspect_ratio=aspect,
        negative_prompt=negative,
        steps=args.steps,
        cfg=args.cfg,
        model=args.model,
    )
    return Applied(filled, notes)
