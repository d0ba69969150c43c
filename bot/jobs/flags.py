"""Parsing ``/imagine`` arguments: a free-form prompt with ``--flag value`` options anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.i18n import ENGLISH, N_, Translator, translator
from bot.telegram.commands import blank, quoted, too_long
from providers import ImageRequest

MAX_SEED = 2**32 - 1
PROMPT_LIMIT = 2000  # characters of a prompt (with its --no), the bot's own limit

# Phones often turn "--" into an em or en dash; accept those too.
FLAG_RE = re.compile(r"^(?:--|—|–)([a-z]+)(?:=(.*))?$", re.IGNORECASE)

FLAG_NAMES = {
    "ar": "ar",
    "aspect": "ar",
    "n": "n",
    "count": "n",
    "seed": "seed",
    "no": "no",
    "neg": "no",
    "steps": "steps",
    "cfg": "cfg",
    "guidance": "cfg",
    "model": "model",
    "m": "model",
    "strength": "strength",
}

USAGE = N_(
    "Usage: /imagine <prompt> [--ar W:H] [--n N] [--seed S] [--no TEXT] [--steps N] "
    "[--cfg X] [--model ID]\nExample: /imagine a red fox in the snow --ar 16:9 --n 2"
)
EDIT_USAGE = N_(
    "Usage: /edit <what to change> [--strength 0-1] [--n N] [--seed S] [--ar W:H] [--model ID],"
    " as the caption of a photo or a reply to one.\nExample: /edit make it winter, snow on the"
    " roofs"
)


class FlagError(ValueError):
    """The arguments cannot be used; ``str(error)`` tells the user what to fix."""


@dataclass(frozen=True)
class ImagineArgs:
    """What the user typed, parsed but not yet checked against a model."""

    prompt: str
    n: int | None = None
    seed: int | None = None
    aspect_ratio: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    cfg: float | None = None
    model: str | None = None
    strength: float | None = None

    def request(self) -> ImageRequest:
        """The provider-neutral request these arguments ask for (one picture unless ``--n``)."""
        return ImageRequest(
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            n=self.n or 1,
            seed=self.seed,
            aspect_ratio=self.aspect_ratio,
            steps=self.steps,
            cfg=self.cfg,
            strength=self.strength,
        )


def parse_imagine(text: str, tr: Translator | None = None, *, edit: bool = False) -> ImagineArgs:
    """Parses the text after ``/imagine`` (or, with ``edit``, the instruction of an edit);
    raises FlagError with a friendly reason in ``tr``'s language (English by default)."""
    tr = tr or translator(ENGLISH)
    usage = tr.gettext(EDIT_USAGE if edit else USAGE)
    tokens = text.split()
    prompt: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        match = FLAG_RE.match(tokens[i])
        if match is None:
            prompt.append(tokens[i])
            i += 1
            continue
        given = match.group(1).lower()
        name = FLAG_NAMES.get(given)
        if name is None:
            message = tr.gettext("Unknown option --{flag}.").format(flag=given)
            raise FlagError(f"{message}\n{usage}")
        if name in values:
            raise FlagError(tr.gettext("--{flag} is given twice.").format(flag=given))
        inline, i = match.group(2), i + 1
        parts = [inline] if inline else []
        # --no takes every word up to the next flag; the others take one word.
        while i < len(tokens) and not FLAG_RE.match(tokens[i]) and (name == "no" or not parts):
            parts.append(tokens[i])
            i += 1
        if not parts:
            message = tr.gettext("--{flag} needs a value.").format(flag=given)
            raise FlagError(f"{message}\n{usage}")
        values[name] = " ".join(parts)

    text_prompt = " ".join(word for word in prompt if not blank(word))
    if not text_prompt:
        empty = (
            tr.gettext("Tell me what to change.") if edit else tr.gettext("Tell me what to draw.")
        )
        raise FlagError(f"{empty}\n{usage}")
    negative = values.get("no")
    if negative is not None and blank(negative):
        message = tr.gettext("--{flag} needs a value.").format(flag="no")
        raise FlagError(f"{message}\n{usage}")
    sent = f"{text_prompt} {negative or ''}".strip()
    if len(sent) > PROMPT_LIMIT:
        refusal = tr.gettext(
            "The prompt is too long: at most {limit} characters, and you sent {count}: “{start}”."
        )
        raise FlagError(refusal.format(limit=PROMPT_LIMIT, count=len(sent), start=quoted(sent)))
    if (model_refusal := too_long(tr, "imagine --model", values.get("model") or "")) is not None:
        raise FlagError(model_refusal)
    seed_rule = tr.gettext("--seed must be a whole number 0-{max}").format(max=MAX_SEED)
    return ImagineArgs(
        prompt=text_prompt,
        n=_int(tr, values, "n", 1, 10, tr.gettext("--n is the number of images, 1 to 10")),
        seed=_int(tr, values, "seed", 0, MAX_SEED, seed_rule),
        aspect_ratio=_ratio(tr, values.get("ar")),
        negative_prompt=negative,
        steps=_int(
            tr, values, "steps", 1, 1000, tr.gettext("--steps must be a positive whole number")
        ),
        cfg=_float(tr, values.get("cfg")),
        model=values.get("model"),
        strength=_strength(tr, values.get("strength")),
    )


def _got(tr: Translator, rule: str, value: str) -> str:
    """ "<rule> (got '<value>')." in ``tr``'s language."""
    return tr.gettext("{rule} (got {value}).").format(rule=rule, value=value)


def _int(
    tr: Translator, values: dict[str, str], name: str, low: int, high: int, rule: str
) -> int | None:
    raw = values.get(name)
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise FlagError(_got(tr, rule, f"'{raw}'")) from None
    if not low <= number <= high:
        raise FlagError(_got(tr, rule, str(number)))
    return number


def _float(tr: Translator, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        number = float(raw.replace(",", "."))
    except ValueError:
        rule = tr.gettext("--cfg must be a number such as 7 or 4.5")
        raise FlagError(_got(tr, rule, f"'{raw}'")) from None
    if number != number or number < 0:  # NaN or negative
        raise FlagError(_got(tr, tr.gettext("--cfg must be a positive number"), f"'{raw}'"))
    return number


def _strength(tr: Translator, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        number = float(raw.replace(",", "."))
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:  # NaN too
        rule = tr.gettext("--strength is a number from 0 to 1, such as 0.6")
        raise FlagError(_got(tr, rule, f"'{raw}'"))
    return number


def _ratio(tr: Translator, raw: str | None) -> str | None:
    if raw is None:
        return None
    match = re.fullmatch(r"(\d{1,2})\s*[:x/]\s*(\d{1,2})", raw)
    if match is None:
        rule = tr.gettext("--ar must look like W:H, for example 16:9")
        raise FlagError(_got(tr, rule, f"'{raw}'"))
    width, height = int(match.group(1)), int(match.group(2))
    if width == 0 or height == 0:
        raise FlagError(_got(tr, tr.gettext("--ar cannot have a zero side"), f"'{raw}'"))
    return f"{width}:{height}"
