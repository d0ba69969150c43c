"""What an upstream points the bot at is checked before anything reaches the chat."""

from __future__ import annotations

import pytest

from bot.storage.records import JobStatus
from tests.e2e.conftest import World, runtime

USER = 701


async def failure_shown(world: World, app: object, text: str) -> str:
    """Waits for the job to end with ``text`` in its status; checks nothing was posted."""
    tg = world.tg
    command = tg.send_text(USER, "/imagine a fox")
    status = await world.status_of(USER, command)
    await tg.wait_for(lambda: text in (status.text or ""))
    row = await runtime(app).storage.get_job(1)  # type: ignore[arg-type]
    assert row is not None and row.status == JobStatus.FAILED
    assert not tg.calls("sendPhoto") and not tg.calls("sendDocument")
    assert not tg.calls("sendMediaGroup")
    return status.text or ""


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        ("html", "not a picture"),
        ("random", "not a picture"),
        ("huge", "larger than 40 MB"),
    ],
)
async def test_content_that_is_not_a_sane_picture_is_not_posted(
    world: World, fault: str, text: str
) -> None:
    world.arta.image_fault = fault  # type: ignore[assignment]
    world.arta.huge_bytes = 60 * 1024 * 1024
    async with world.bot() as app:
        shown = await failure_shown(world, app, text)
    assert shown.startswith("⚠️ ARTA")


async def test_a_download_that_drips_ends_at_the_jobs_deadline(world: World) -> None:
    world.arta.image_fault = "slow"
    async with world.bot(job_timeout=3) as app:
        await failure_shown(world, app, "took too long to send the picture")


async def test_internal_addresses_are_not_fetched_unless_allowed(world: World) -> None:
    # The fake itself is on 127.0.0.1: with the default setting the bot refuses to fetch there.
    async with world.bot(allow_private_urls=False) as app:
        await failure_shown(world, app, "private network")
    assert world.arta.image_requests == 0


async def test_redirects_are_checked_again_and_limited(world: World) -> None:
    arta = world.arta
    arta.image_fault = "redirect"
    async with world.bot() as app:
        arta.redirect_to = "file:///etc/passwd"
        await failure_shown(world, app, "address we do not fetch")
    async with world.bot() as app:
        arta.redirect_to = f"{arta.url}/images/again/0.png"  # a loop
        command = world.tg.send_text(USER, "/imagine a dizzy fox")
        status = await world.status_of(USER, command)
        await world.tg.wait_for(lambda: "redirected" in (status.text or ""))
    assert arta.image_requests == 1 + 6  # the first try, then the loop until the limit
