"""Providers' user-safe English sentences in the user's language.

providers/ knows nothing of Telegram or languages: its errors carry one English sentence
("cannot be reached right now") and the provider's label. Here a sentence the bot knows is
matched (with its numbers and names) and translated; one it does not know is described by the
error's type ("ARTA: сейчас недоступен"). English readers get the providers' own sentences.
Nothing a provider did not already show the user is added, so the user-safe rule holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.i18n import ENGLISH, N_, Translator
from providers import (
    AuthError,
    InvalidOption,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Switched,
    UnknownModel,
)
from providers.routing.fallback import AllFailed

# (the provider's sentence as a pattern, its English template): named groups fill the template.
SENTENCES: tuple[tuple[str, str], ...] = (
    (r"cannot be reached right now", N_("cannot be reached right now")),
    (r"took too long to answer", N_("took too long to answer")),
    (
        r"did not finish within (?P<seconds>[\d.]+) seconds",
        N_("did not finish within {seconds} seconds"),
    ),
    (r"is having trouble \(HTTP (?P<status>\d+)\)", N_("is having trouble (HTTP {status})")),
    (r"is having trouble", N_("is having trouble")),
    (r"rejected the request \(HTTP (?P<status>\d+)\)", N_("rejected the request (HTTP {status})")),
    (r"refused our credentials", N_("refused our credentials")),
    (
        r"says the account is out of credit or over its quota",
        N_("says the account is out of credit or over its quota"),
    ),
    (r"sent a response we could not read", N_("sent a response we could not read")),
    (r"sent an image we could not read", N_("sent an image we could not read")),
    (r"sent a result we could not read", N_("sent a result we could not read")),
    (r"sent a result without an image", N_("sent a result without an image")),
    (r"sent an incomplete response \(no (?P<what>\w+)\)", N_("sent an incomplete response")),
    (r"sent no pictures", N_("sent no pictures")),
    (r"returned no images", N_("sent no pictures")),
    (r"finished without images", N_("sent no pictures")),
    (r"finished without sending the images", N_("sent no pictures")),
    (r"sent something that is not a picture", N_("sent something that is not a picture")),
    (r"sent a picture we could not decode", N_("sent something that is not a picture")),
    (r"gave an empty answer", N_("gave an empty answer")),
    (r"sent an empty answer", N_("gave an empty answer")),
    (r"could not answer this question", N_("could not answer this question")),
    (r"refused to answer \(content filter\)", N_("refused to answer (content filter)")),
    (r"refused this request \(content policy\)", N_("refused this request (content policy)")),
    (
        r"stopped answering mid-way; please try again",
        N_("stopped answering mid-way; please try again"),
    ),
    (r"image generation failed", N_("could not draw it")),
    (r"generation failed \(status (?P<status>[^)]*)\)", N_("could not draw it")),
    (r"could not draw it: (?P<reason>.+)", N_("could not draw it: {reason}")),
    (r"failed: (?P<reason>.+)", N_("failed: {reason}")),
    (r"GPU quota exceeded.*", N_("is out of GPU quota; try later")),
    (r"sent an unreadable sign-up answer", N_("sent an unreadable sign-up answer")),
    (r"sent an unreadable token answer", N_("sent an unreadable token answer")),
    (r"sent an image without a URL", N_("sent an image without a URL")),
    (
        r"Dynaspark reads JPEG, PNG, WebP and GIF images only\.",
        N_("Dynaspark reads JPEG, PNG, WebP and GIF images only."),
    ),
    (
        r"withheld the picture \(its safety checker flagged it\)",
        N_("withheld the picture (its safety checker flagged it)"),
    ),
    (
        r"ended the stream before the image was ready",
        N_("ended the stream before the image was ready"),
    ),
    (
        r"failed \(wrong inputs or an error in the Space\)",
        N_("failed (wrong inputs or an error in the Space)"),
    ),
    (r"sent an unreadable job id", N_("sent an unreadable job id")),
    (r"reported an error we could not read", N_("reported an error we could not read")),
    (
        r"cut the connection before the image was ready",
        N_("cut the connection before the image was ready"),
    ),
    (r"sent an API description we could not read", N_("sent an API description we could not read")),
    (
        r"is busy and asked us to slow down; try again in a minute",
        N_("is busy and asked us to slow down; try again in a minute"),
    ),
    (
        r"Only JPEG, PNG, WebP and GIF images can be asked about\.",
        N_("Only JPEG, PNG, WebP and GIF images can be asked about."),
    ),
    (r"has no quota or credit left for this key", N_("has no quota or credit left for this key")),
    (r"broke off its answer; please try again", N_("broke off its answer; please try again")),
    (r"cancelled the prediction", N_("cancelled the prediction")),
    (r"took too long to send the picture", N_("took too long to send the picture")),
    (r"sent a picture address we do not fetch", N_("sent a picture address we do not fetch")),
    (
        r"sent a picture address that cannot be reached",
        N_("sent a picture address that cannot be reached"),
    ),
    (
        r"sent a picture address on a private network, which we do not fetch",
        N_("sent a picture address on a private network, which we do not fetch"),
    ),
    (
        r"redirected the picture download too often",
        N_("redirected the picture download too often"),
    ),
    (r"sent a picture larger than (?P<mb>\d+) MB", N_("sent a picture larger than {mb} MB")),
    (r"sent a picture too large to handle.*", N_("sent a picture too large to handle")),
    (r"The prompt is empty\.", N_("The prompt is empty.")),
    (r"The question is empty\.", N_("The question is empty.")),
    (r"The image is empty\.", N_("The image is empty.")),
    (
        r"(?P<model>\S+) makes one image at a time\.",
        N_("{model} makes one image at a time."),
    ),
    (
        r"(?P<model>\S+) makes 1 to (?P<max>\d+) images at a time\.",
        N_("{model} makes 1 to {max} images at a time."),
    ),
    (
        r"(?P<model>\S+) supports the aspect ratios (?P<allowed>.+)\.",
        N_("{model} supports the aspect ratios {allowed}."),
    ),
    (
        r"(?P<model>\S+) does not take a number of steps\.",
        N_("{model} does not take a number of steps."),
    ),
    (
        r"Steps for (?P<model>\S+) must be between (?P<low>\d+) and (?P<high>\d+)\.",
        N_("Steps for {model} must be between {low} and {high}."),
    ),
    (
        r"(?P<model>\S+) does not take a guidance scale\.",
        N_("{model} does not take a guidance scale."),
    ),
    (
        r"(?P<model>\S+) does not take a negative prompt\.",
        N_("{model} does not take a negative prompt."),
    ),
    (r"(?P<model>\S+) does not take a seed\.", N_("{model} does not take a seed.")),
    (
        r"Guidance for (?P<model>\S+) must be between (?P<low>[\d.]+) and (?P<high>[\d.]+)\.",
        N_("Guidance for {model} must be between {low} and {high}."),
    ),
    (
        r"Steps for (?P<model>\S+) must be a whole number from (?P<low>\d+) to (?P<high>\d+)\.",
        N_("Steps for {model} must be a whole number from {low} to {high}."),
    ),
    (
        r"(?P<model>\S+) has no aspect ratio '(?P<value>[^']*)'; use (?P<allowed>.+)\.",
        N_("{model} has no aspect ratio '{value}'; use {allowed}."),
    ),
    (
        r"(?P<model>\S+) has no sampler '(?P<value>[^']*)'; use (?P<allowed>.+)\.",
        N_("{model} has no sampler '{value}'; use {allowed}."),
    ),
    (r"(?P<model>\S+) is not an image model\.", N_("{model} is not an image model.")),
    (r"(?P<model>\S+) is not a vision model\.", N_("{model} is not a vision model.")),
    (
        r"'(?P<value>[^']*)' is not an aspect ratio like 16:9\.",
        N_("'{value}' is not an aspect ratio like 16:9."),
    ),
)
# How the request was adapted to a fallback model ("16:9 instead of 21:9").
ADJUSTMENTS: tuple[tuple[str, str], ...] = (
    (r"its own default guidance", N_("its own default guidance")),
    (r"its own default steps", N_("its own default steps")),
    (r"without the negative prompt", N_("without the negative prompt")),
    (r"a random seed", N_("a random seed")),
    (r"(?P<a>\d+:\d+) instead of (?P<b>\d+:\d+)", N_("{a} instead of {b}")),
)
_COUNT_ADJUSTMENT = re.compile(r"(?P<count>\d+) images? instead of (?P<wanted>\d+)")
_COMPILED = [(re.compile(pattern), template) for pattern, template in SENTENCES]
_COMPILED_ADJUSTMENTS = [(re.compile(pattern), template) for pattern, template in ADJUSTMENTS]


def _match(tr: Translator, text: str, table: Iterable[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, template in table:
        found = pattern.fullmatch(text.strip())
        if found is not None:
            return tr.gettext(template).format(**found.groupdict())
    return None


def _by_type(tr: Translator, error: ProviderError | None) -> str:
    """A sentence for a failure the bot has no translation of, from what kind it is."""
    if isinstance(error, ProviderUnavailable):
        return tr.gettext("cannot be reached right now")
    if isinstance(error, ProviderTimeout):
        return tr.gettext("took too long to answer")
    if isinstance(error, RateLimited):
        return tr.gettext("is busy or over its quota; try again later")
    if isinstance(error, AuthError):
        return tr.gettext("refused our credentials")
    if isinstance(error, InvalidOption):
        return tr.gettext("This model cannot take these options.")
    return tr.gettext("failed to do this job")


def sentence(tr: Translator, text: str, error: ProviderError | None = None) -> str:
    """A provider's sentence (without its label) in ``tr``'s language."""
    if tr.language == ENGLISH:
        return text
    return _match(tr, text, _COMPILED) or _by_type(tr, error)


def error_text(tr: Translator, error: ProviderError) -> str:
    """What a provider's failure says to the user, naming the provider when known."""
    if tr.language == ENGLISH:
        return error.user_message
    if isinstance(error, UnknownModel):
        return unknown_model(tr, error)
    if isinstance(error, AllFailed):
        listed = "; ".join(
            f"{entry.id}: {reason_text(tr, reason, entry.provider.label)}"
            for entry, reason in error.tried
        )
        return tr.gettext("No model could take this job right now ({listed}).").format(
            listed=listed
        )
    text = sentence(tr, str(error), error)
    return f"{error.provider}: {text}" if error.provider else text


def unknown_model(tr: Translator, error: UnknownModel) -> str:
    """ "Unknown model 'x'. Did you mean: …?" in ``tr``'s language."""
    if tr.language == ENGLISH:
        return str(error)
    text = tr.gettext("Unknown model '{name}'.").format(name=error.name)
    if error.suggestions:
        text += " " + tr.gettext("Did you mean: {names}?").format(
            names=", ".join(error.suggestions)
        )
    return text


def reason_text(tr: Translator, reason: str, label: str) -> str:
    """A fallback's reason ("ARTA cannot be reached right now") in ``tr``'s language."""
    if tr.language == ENGLISH or not reason.startswith(label):
        return reason
    rest = reason[len(label) :].strip()
    return f"{label}: {_match(tr, rest, _COMPILED) or tr.gettext('failed to do this job')}"


def recorded_error_text(tr: Translator, text: str, label: str) -> str:
    """A provider's last error as recorded ("ARTA: cannot be reached right now") in ``tr``'s
    language; a sentence without a pattern stays as recorded (operators see the detail)."""
    prefix = f"{label}: "
    if tr.language == ENGLISH or not text.startswith(prefix):
        return text
    rest = text[len(prefix) :]
    return prefix + (_match(tr, rest, _COMPILED) or rest)


def adjustment_text(tr: Translator, note: str) -> str:
    """How a request was adapted to a fallback model, in ``tr``'s language."""
    if tr.language == ENGLISH:
        return note
    counted = _COUNT_ADJUSTMENT.fullmatch(note)
    if counted is not None:
        count = int(counted["count"])
        text = tr.ngettext(
            "{count} image instead of {wanted}", "{count} images instead of {wanted}", count
        )
        return text.format(count=count, wanted=counted["wanted"])
    return _match(tr, note, _COMPILED_ADJUSTMENTS) or note


def switched_parts(tr: Translator, event: Switched, from_label: str) -> tuple[str, list[str]]:
    """A Switched event's reason and adjustments in ``tr``'s language."""
    return (
        reason_text(tr, event.reason, from_label),
        [adjustment_text(tr, note) for note in event.adjustments],
    )
