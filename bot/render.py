"""Texts the user sees: status lines, captions, summaries. Pure functions, no Telegram calls."""

from __future__ import annotations

from providers import Stage, Switched
from providers.health import Health, State

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

STAGE_ICONS = {Stage.SUBMITTED: "📨", Stage.QUEUED: "🕓", Stage.GENERATING: "🎨"}
STAGE_WORDS = {
    Stage.SUBMITTED: "sent to",
    Stage.QUEUED: "waiting in line at",
    Stage.GENERATING: "drawing with",
}


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with "…" when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def waiting_text(model_id: str, position: int) -> str:
    """The status while the job waits for one of the bot's own slots."""
    return f"⏳ {model_id}: you are #{position} in line, starting soon."


def progress_text(model_id: str, stage: Stage, elapsed: float, note: str = "") -> str:
    """The status while the provider works: stage, model, an optional note, elapsed seconds."""
    detail = f" ({shorten(note, 60)})" if note else ""
    return f"{STAGE_ICONS[stage]} {STAGE_WORDS[stage]} {model_id}{detail} · {int(elapsed)} s"


def queue_note(position: int | None, provider: str) -> str:
    """Where the job stands in the provider's own queue, when the provider tells."""
    return f"#{position} in {provider}'s queue" if position else ""


def delivering_text(model_id: str, count: int, elapsed: float) -> str:
    noun = "image" if count == 1 else "images"
    return f"📤 {model_id}: sending {count} {noun} · {int(elapsed)} s"


def caption(prompt: str, model_id: str, seed: int | None, instead_of: str = "") -> str:
    """The caption of the first image: prompt (cut to fit), the model that drew it (and the one
    it stood in for) and the seed, within 1024 chars."""
    tail = f"\n\n🎨 {model_id}" + (f" · seed {seed}" if seed is not None else "")
    if instead_of and instead_of != model_id:
        tail += f" · instead of {instead_of}"
    return shorten(prompt, CAPTION_LIMIT - len(tail)) + tail


def switched_text(event: Switched, verb: str = "drawing") -> str:
    """What the status says once a job moved on to a fallback model."""
    adjusted = f" ({'; '.join(event.adjustments)})" if event.adjustments else ""
    return f"↪️ {event.reason}; {verb} with {event.to_model} instead{adjusted}."


def growing_answer(partial: str) -> str:
    """A streamed answer so far, as plain text within one message (its latest part if long)."""
    text = partial.strip()
    if len(text) > TEXT_LIMIT - 100:
        text = "…" + text[-(TEXT_LIMIT - 101) :]
    return f"💬 {text} ▍"


def failure_text(reason: str) -> str:
    return f"⚠️ {reason}\nTry again in a moment, or pick another model with /model."


def elapsed_summary(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


STATE_ICONS = {State.UP: "✅", State.FAILING: "⚠️", State.DOWN: "❌"}


def ago(seconds: float) -> str:
    """A short "how long ago": 40 s, 5 min, 3 h, 2 d."""
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def provider_line(
    label: str, health: Health, chat_models: list[str], now: float, *, show_error: bool
) -> str:
    """One provider in /providers: state, last success, success rate, typical duration, the
    chat's models it serves and (for operators) its last error."""
    parts = [f"{STATE_ICONS[health.state]} {label}"]
    if health.down_until is not None:
        wait = health.down_until - now
        parts.append(f"down, retried in {ago(wait)}" if wait > 0 else "down, being retried")
    if health.last_success is not None:
        parts.append(f"worked {ago(now - health.last_success)} ago")
    elif health.recent:
        parts.append("has not worked yet")
    else:
        parts.append("not used yet")
    if health.success_rate is not None:
        parts.append(f"{health.success_rate:.0%} of {len(health.recent)} recent jobs")
    if health.typical_duration is not None:
        parts.append(f"usually {health.typical_duration:.0f} s")
    line = " · ".join(parts)
    if chat_models:
        line += "\n    ← this chat: " + ", ".join(chat_models)
    if show_error and health.last_error:
        line += "\n    last error: " + shorten(health.last_error, 200)
    return line


def providers_text(lines: list[str]) -> str:
    """The whole /providers answer."""
    head = "Providers (✅ up · ⚠️ failing · ❌ down)\n\n"
    foot = "\n\nA job whose provider fails moves on to another one; /model picks yours."
    return shorten(head + "\n".join(lines) + foot, TEXT_LIMIT)
