"""A reply that overtakes the note of the prompt it answers waits for the note."""

from __future__ import annotations

import asyncio

from bot.runtime.asking import Asking


async def test_a_reply_waits_until_the_prompt_in_its_chat_is_noted() -> None:
    asking = Asking()
    noted: list[str] = []
    sent, finish = asyncio.Event(), asyncio.Event()

    async def put_up() -> None:
        async with asking.prompt(7):
            sent.set()
            await finish.wait()  # the database is slow to note it
            noted.append("prompt")

    async def reply() -> list[str]:
        await sent.wait()
        await asking.settled(7)
        return list(noted)

    task = asyncio.create_task(put_up())
    answer = asyncio.create_task(reply())
    await sent.wait()
    await asking.settled(8)  # another chat does not wait
    for _ in range(5):  # let the reply run as far as it can
        await asyncio.sleep(0)
    assert not answer.done()
    finish.set()
    assert await answer == ["prompt"]
    await task
    await asking.settled(7)  # nothing in flight any more
