"""/ask answers that stream (OpenAI-compatible vision models): a growing message draft in
private chats, paced edits of the status message in groups, and the complete answer as a
message at the end either way."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable

import pytest

from tests.e2e.conftest import World
from tests.e2e.test_openai import with_openai
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.pollinations import FakePollinations

USER = 9201
GROUP = -1009201
ANSWER = "A fox is a small wild dog with a bushy tail and a pointed snout."
REFUSAL = "Bad Request: TEXTDRAFT_PEER_INVALID"


def shows(world: World, text: str) -> Callable[[], bool]:
    """Whether the private chat's newest draft shows ``text``."""
    return lambda: bool(world.tg.drafts_in(USER)) and world.tg.drafts_in(USER)[-1].text == text


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        fake.answer = ANSWER
        yield fake  # type: ignore[misc]


async def test_a_private_answer_grows_in_a_draft_and_ends_as_one_message(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    pieces = ["A fox ", "is a small wild dog ", "with a bushy tail ", "and a pointed snout."]
    openai_fake.pieces = pieces
    openai_fake.steps = asyncio.Semaphore(0)
    async with world.bot(**with_openai(openai_fake)):
        command = tg.send_text(USER, "/ask what is a fox?")
        status = await world.status_of(USER, command)
        for count in range(1, len(pieces)):  # the user sees each piece arrive in the draft
            openai_fake.steps.release()
            await tg.wait_for(shows(world, "".join(pieces[:count]).strip()))
        openai_fake.steps.release()
        answer = await world.reply_to(USER, command, lambda m: m.text == ANSWER)
        await tg.wait_for(lambda: status.deleted)
    drafts = tg.drafts_in(USER)
    assert len(drafts) >= len(pieces) - 1
    assert len({d.draft_id for d in drafts}) == 1
    texts = [d.text for d in drafts]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert ANSWER.startswith(texts[-1])
    assert all(d.at < answer.history[0].at for d in drafts)  # nothing changes after the answer
    assert not any("💬" in (v.text or "") for v in status.history)  # no edits of the status
    assert [m.text for m in tg.bot_messages(USER) if m.reply_to == command["message_id"]] == [
        status.history[0].text,
        ANSWER,
    ]


async def test_a_draft_shows_the_answer_formatted_as_it_will_arrive(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    openai_fake.answer = "It is **red** and round. " * 4
    openai_fake.hold = asyncio.Event()  # the stream pauses halfway
    async with world.bot(**with_openai(openai_fake)):
        command = tg.send_text(USER, "/ask what is it?")
        draft = await tg.wait_for(lambda: tg.drafts_in(USER) and tg.drafts_in(USER)[-1])
        assert draft.text.startswith("It is red and round.")
        assert any(e["type"] == "bold" for e in draft.entities)
        openai_fake.hold.set()
        answer = await world.reply_to(USER, command, lambda m: "red" in (m.text or ""))
        assert answer.text == openai_fake.answer.replace("**", "").strip()


async def test_a_group_answer_grows_by_paced_edits_and_ends_complete(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.add_chat(GROUP, chat_type="supergroup")
    openai_fake.hold = asyncio.Event()
    async with world.bot(**with_openai(openai_fake)):
        command = tg.send_text(GROUP, "/ask what is a fox?", user_id=31)
        status = await world.status_of(GROUP, command)
        await tg.wait_for(lambda: "💬 A fox is a small" in (status.text or ""))
        assert "pointed snout" not in (status.text or "")
        openai_fake.hold.set()
        await world.reply_to(GROUP, command, lambda m: m.text == ANSWER)
        await tg.wait_for(lambda: status.deleted)
    assert not tg.calls("sendMessageDraft")


async def test_a_refused_draft_falls_back_to_edits_and_is_not_tried_again(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    tg.fail_next("sendMessageDraft", error_code=400, description=REFUSAL)
    openai_fake.hold = asyncio.Event()
    async with world.bot(**with_openai(openai_fake)):
        first = tg.send_text(USER, "/ask what is a fox?")
        status = await world.status_of(USER, first)
        await tg.wait_for(lambda: "💬 A fox is a small" in (status.text or ""))
        openai_fake.hold.set()
        await world.reply_to(USER, first, lambda m: m.text == ANSWER)

        openai_fake.hold = asyncio.Event()
        second = tg.send_text(USER, "/ask and a wolf?")
        again = await world.status_of(USER, second)
        await tg.wait_for(lambda: "💬 A fox is a small" in (again.text or ""))
        openai_fake.hold.set()
        await world.reply_to(USER, second, lambda m: m.text == ANSWER)
    [refused] = tg.calls("sendMessageDraft")
    assert refused.error == REFUSAL
    assert tg.drafts == []


async def test_an_answer_moved_to_a_fallback_model_grows_in_a_new_draft(
    world: World, openai_fake: FakeOpenAI
) -> None:
    tg = world.tg
    openai_fake.fail("chat", "cut")  # half an answer, then the connection dies
    async with FakePollinations() as fallback:
        fallback.answer = "Foxes are canids."
        fallback.pieces = ["Foxes ", "are canids."]
        fallback.steps = asyncio.Semaphore(0)
        settings = with_openai(
            openai_fake,
            pollinations_api_key=fallback.api_key,
            pollinations_api_url=fallback.url,
            fallback_vision_models="pollinations/openai",
        )
        async with world.bot(**settings):
            command = tg.send_text(USER, "/ask what is a fox?")
            first = await tg.wait_for(lambda: tg.drafts_in(USER) and tg.drafts_in(USER)[0])
            # the half answer gives way to Telegram's "Thinking…" while the fallback starts
            placeholder = await tg.wait_for(
                lambda: next((d for d in tg.drafts_in(USER) if d.draft_id != first.draft_id), None)
            )
            assert placeholder.text == ""
            fallback.steps.release()
            await tg.wait_for(shows(world, "Foxes"))
            fallback.steps.release()
            answer = await world.reply_to(USER, command, lambda m: m.text == fallback.answer)
    assert ANSWER.startswith(first.text)
    assert [d.text for d in tg.drafts_in(USER, placeholder.draft_id)] == ["", "Foxes"]
    assert all(d.at < answer.history[0].at for d in tg.drafts)
