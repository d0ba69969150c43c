"""The one log line that says how a job ended, as text or (LOG_FORMAT=json) as fields."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("bot.jobs")


def log_job(
    job_id: int,
    kind: str,
    chat_id: int,
    model: str,
    seconds: float,
    outcome: str,
    *,
    provider: str | None = None,
    stage: str | None = None,
    code: str | None = None,
    reason: str | None = None,
    prompt: str | None = None,
    level: int = logging.INFO,
) -> None:
    """The one line that says how a job ended: ``outcome`` (delivered, refused, failed,
    cancelled, ...), where it got to (``stage``), the failure's ``code`` and ``reason`` (a
    sentence safe to show), and the ``prompt`` only when the operator asked for prompts in the
    logs (LOG_PROMPTS). The fields also go with the record (``extra``) for LOG_FORMAT=json."""
    fields: dict[str, object] = {
        "job": job_id,
        "kind": kind,
        "chat": chat_id,
        "model": model,
        "provider": provider,
        "outcome": outcome,
        "code": code,
        "stage": stage,
        "duration": round(seconds, 3),
    }
    text = (
        f"job={job_id} kind={kind} chat={chat_id} model={model} provider={provider or '-'} "
        f"stage={stage or '-'} duration={seconds:.1f}s outcome={outcome}"
    )
    if code:
        text += f" code={code}"
    if reason:
        fields["reason"] = reason
        text += f" reason={json.dumps(reason, ensure_ascii=False)}"
    if prompt is not None:
        fields["prompt"] = prompt
        text += f" prompt={json.dumps(prompt, ensure_ascii=False)}"
    log.log(level, "%s", text, extra=fields)
