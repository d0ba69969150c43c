"""Texts the user sees: status lines, captions, summaries. Pure functions, no Telegram calls."""

from __future__ import annotations

from bot.i18n import N_, Translator
from providers import Stage, Switched
from providers.routing.api import OutOfTime
from providers.routing.health import Health, State

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

# "sent" (📨) only once the upstream has taken the job; before that (None) the job waits for it.
STAGE_ICONS: dict[Stage | None, str] = {
    None: "⏳",
    Stage.SIGNING_IN: "🔑",
    Stage.SUBMITTED: "📨",
    Stage.QUEUED: "🕓",
    Stage.GENERATING: "🎨",
}
STAGE_TEXTS: dict[Stage | None, str] = {
    None: N_("waiting for {model} to take the job{detail} · {seconds} s"),
    Stage.SIGNING_IN: N_("signing in at {model}{detail} · {seconds} s"),
    Stage.SUBMITTED: N_("sent to {model}{detail} · {seconds} s"),
    Stage.QUEUED: N_("waiting in line at {model}{detail} · {seconds} s"),
    Stage.GENERATING: N_("drawing with {model}{detail} · {seconds} s"),
}


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with "…" when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def waiting_text(tr: Translator, model_id: str, position: int) -> str:
    """The status while the job waits for one of the bot's own slots."""
    text = tr.gettext("⏳ {model}: you are #{position} in line, starting soon.")
    return text.format(model=model_id, position=position)


def starting_text(tr: Translator, model_id: str) -> str:
    """The first status of a new /imagine."""
    return tr.gettext("⏳ {model}: starting…").format(model=model_id)


def progress_text(
    tr: Translator, model_id: str, stage: Stage | None, elapsed: float, note: str = ""
) -> str:
    """The status while the provider works: stage (None: the upstream has not taken the job
    yet), model, an optional note (already in the user's language), elapsed seconds."""
    detail = f" ({shorten(note, 60)})" if note else ""
    text = tr.gettext(STAGE_TEXTS[stage]).format(
        model=model_id, detail=detail, seconds=int(elapsed)
    )
    return f"{STAGE_ICONS[stage]} {text}"


def queue_note(tr: Translator, position: int | None, provider: str) -> str:
    """Where the job stands in the provider's own queue, when the provider tells."""
    if not position:
        return ""
    return tr.gettext("#{position} in {provider}'s queue").format(
        position=position, provider=provider
    )


def delivering_text(tr: Translator, model_id: str, count: int, elapsed: float) -> str:
    """The status while the pictures go out: "sending 2 images"."""
    text = tr.ngettext(
        "📤 {model}: sending {count} image · {seconds} s",
        "📤 {model}: sending {count} images · {seconds} s",
        count,
    )
    return text.format(model=model_id, count=count, seconds=int(elapsed))


def caption(
    tr: Translator,
    prompt: str,
    model_id: str,
    seed: int | None,
    instead_of: str = "",
    *,
    edited: bool = False,
    note: str = "",
) -> str:
    """The caption of the first image: prompt (cut to fit), the model that drew it (🖌 when it
    edited the user's pictures; and the one it stood in for), the seed and a ``note`` already
    in the user's language, within 1024 chars."""
    tail = f"\n\n{'🖌' if edited else '🎨'} {model_id}"
    if seed is not None:
        tail += " · " + tr.gettext("seed {seed}").format(seed=seed)
    if instead_of and instead_of != model_id:
        tail += " · " + tr.gettext("instead of {model}").format(model=instead_of)
    if note:
        tail += f"\n{note}"
    return shorten(prompt, CAPTION_LIMIT - len(tail)) + tail


def switched_text(
    tr: Translator, event: Switched, reason: str, adjustments: list[str], *, asking: bool = False
) -> str:
    """What the status says once a job moved on to a fallback model; ``reason`` and
    ``adjustments`` are already in the user's language."""
    adjusted = f" ({'; '.join(adjustments)})" if adjustments else ""
    text = (
        tr.gettext("↪️ {reason}; asking {model} instead{adjusted}.")
        if asking
        else tr.gettext("↪️ {reason}; drawing with {model} instead{adjusted}.")
    )
    return text.format(reason=reason, model=event.to_model, adjusted=adjusted)


def growing_answer(partial: str) -> str:
    """A streamed answer so far, as plain text within one message (its latest part if long)."""
    text = partial.strip()
    if len(text) > TEXT_LIMIT - 100:
        text = "…" + text[-(TEXT_LIMIT - 101) :]
    return f"💬 {text} ▍"


WAITING_FOR: dict[Stage | None, str] = {
    None: N_("waiting for {provider} to take the job"),
    Stage.SIGNING_IN: N_("signing in at {provider}"),
    Stage.SUBMITTED: N_("waiting for {provider} to start the job"),
    Stage.QUEUED: N_("waiting in {provider}'s queue"),
    Stage.GENERATING: N_("waiting for {provider} to finish"),
}


def out_of_time_text(tr: Translator, error: OutOfTime, seconds: float) -> str:
    """A job that ran out of JOB_DEADLINE: how long, what it waited for, what to do."""
    waiting = tr.gettext(WAITING_FOR[error.stage]).format(provider=error.provider or error.model)
    if error.queue_position:
        waiting += f" (#{error.queue_position})"
    text = tr.gettext("⌛ No result within {seconds} s; stopped while {waiting} ({model}).")
    advice = tr.gettext("Try again in a moment, or pick another model with /model.")
    return text.format(seconds=f"{seconds:g}", waiting=waiting, model=error.model) + "\n" + advice


def failure_text(tr: Translator, reason: str) -> str:
    """A failed job's last words: what happened and what to do."""
    advice = tr.gettext("Try again in a moment, or pick another model with /model.")
    return f"⚠️ {reason}\n{advice}"


def elapsed_summary(tr: Translator, seconds: float) -> str:
    """A job's duration: "12 s" or "2.5 min"."""
    if seconds < 120:
        return tr.gettext("{seconds} s").format(seconds=f"{seconds:.0f}")
    return tr.gettext("{minutes} min").format(minutes=tr.decimal(seconds / 60))


STATE_ICONS = {State.UP: "✅", State.FAILING: "⚠️", State.DOWN: "❌"}


def ago(tr: Translator, seconds: float) -> str:
    """A short "how long ago": 40 s, 5 min, 3 h, 2 d."""
    if seconds < 90:
        return tr.gettext("{seconds} s").format(seconds=f"{max(seconds, 0):.0f}")
    if seconds < 90 * 60:
        return tr.gettext("{minutes} min").format(minutes=f"{seconds / 60:.0f}")
    if seconds < 36 * 3600:
        return tr.gettext("{hours} h").format(hours=f"{seconds / 3600:.0f}")
    return tr.gettext("{days} d").format(days=f"{seconds / 86400:.0f}")


def provider_line(
    tr: Translator,
    label: str,
    health: Health,
    chat_models: list[str],
    now: float,
    *,
    show_error: bool,
) -> str:
    """One provider in /providers: state, last success, success rate, typical duration, the
    chat's models it serves and (for operators) its last error."""
    parts = [f"{STATE_ICONS[health.state]} {label}"]
    if health.down_until is not None:
        wait = health.down_until - now
        parts.append(
            tr.gettext("down, retried in {wait}").format(wait=ago(tr, wait))
            if wait > 0
            else tr.gettext("down, being retried")
        )
    if health.last_success is not None:
        parts.append(tr.gettext("worked {ago} ago").format(ago=ago(tr, now - health.last_success)))
    elif health.recent:
        parts.append(tr.gettext("has not worked yet"))
    else:
        parts.append(tr.gettext("not used yet"))
    if health.success_rate is not None:
        count = len(health.recent)
        rate = tr.ngettext("{rate} of {count} recent job", "{rate} of {count} recent jobs", count)
        parts.append(rate.format(rate=f"{health.success_rate:.0%}", count=count))
    if health.typical_duration is not None:
        seconds = tr.gettext("{seconds} s").format(seconds=f"{health.typical_duration:.0f}")
        parts.append(tr.gettext("usually {duration}").format(duration=seconds))
    line = " · ".join(parts)
    if chat_models:
        line += "\n    ← " + tr.gettext("this chat: {models}").format(models=", ".join(chat_models))
    if show_error and health.last_error:
        line += "\n    " + tr.gettext("last error: {error}").format(
            error=shorten(health.last_error, 200)
        )
    return line


def providers_text(tr: Translator, lines: list[str]) -> str:
    """The whole /providers answer."""
    head = tr.gettext("Providers (✅ up · ⚠️ failing · ❌ down)") + "\n\n"
    foot = "\n\n" + tr.gettext(
        "A job whose provider fails moves on to another one; /model picks yours."
    )
    return shorten(head + "\n".join(lines) + foot, TEXT_LIMIT)
