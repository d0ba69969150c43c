"""The job runner: fair queueing with positions, per-user caps, cancel and shutdown."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime.queue import Job, JobRunner, TooManyJobs


async def test_queue_positions_and_order() -> None:
    runner = JobRunner(slots=1, per_user=5)
    release = asyncio.Event()
    order: list[int] = []
    positions: dict[int, list[int]] = {}

    async def work(job: Job) -> None:
        async with runner.slot(job):
            order.append(job.id)
            await release.wait()

    jobs = []
    for i in range(1, 4):
        job = Job(chat_id=1, user_id=i, id=i)
        job.on_position = lambda p, i=i: positions.setdefault(i, []).append(p)  # type: ignore[misc]
        runner.admit(job)
        jobs.append(runner.start(job, work))
        await asyncio.sleep(0)
    assert order == [1]
    assert positions[2][-1] == 1 and positions[3][-1] == 2
    release.set()
    await asyncio.gather(*jobs)
    assert order == [1, 2, 3]
    assert positions[3] == [2, 1]


async def test_per_user_cap_counts_until_finished() -> None:
    runner = JobRunner(slots=4, per_user=2)
    gate = asyncio.Event()

    async def work(job: Job) -> None:
        await gate.wait()

    first, second = Job(chat_id=1, user_id=7, id=1), Job(chat_id=2, user_id=7, id=2)
    for job in (first, second):
        runner.admit(job)
        runner.start(job, work)
    with pytest.raises(TooManyJobs):
        runner.admit(Job(chat_id=1, user_id=7, id=3))
    runner.admit(Job(chat_id=1, user_id=8, id=4))  # someone else is not affected
    gate.set()
    assert first.task and second.task
    await asyncio.gather(first.task, second.task)
    runner.admit(Job(chat_id=1, user_id=7, id=5))


async def test_a_job_whose_outcome_is_decided_frees_the_cap_and_cannot_be_cancelled() -> None:
    runner = JobRunner(slots=4, per_user=1)
    settling = asyncio.Event()

    async def work(job: Job) -> None:
        runner.ended(job)  # the pictures are out; the status message is still being settled
        await settling.wait()

    done = Job(chat_id=1, user_id=7, id=1)
    runner.admit(done)
    task = runner.start(done, work)
    await asyncio.sleep(0)
    assert runner.cancel(1, 7) == 0 and not task.cancelled()
    runner.admit(Job(chat_id=1, user_id=7, id=2))  # the next command is taken at once
    settling.set()
    await task


async def test_cancel_reaches_only_that_users_jobs_in_that_chat() -> None:
    runner = JobRunner(slots=1, per_user=3)
    outcomes: dict[int, str] = {}
    gate = asyncio.Event()

    async def work(job: Job) -> None:
        try:
            async with runner.slot(job):
                await gate.wait()
            outcomes[job.id] = "done"
        except asyncio.CancelledError:
            outcomes[job.id] = f"cancelled: {job.cancel_reason}"

    mine_running = Job(chat_id=1, user_id=7, id=1)
    mine_waiting = Job(chat_id=1, user_id=7, id=2)
    other_chat = Job(chat_id=2, user_id=7, id=3)
    tasks = []
    for job in (mine_running, mine_waiting, other_chat):
        runner.admit(job)
        tasks.append(runner.start(job, work))
        await asyncio.sleep(0)
    assert runner.cancel(1, 7, "by you") == 2
    await asyncio.gather(tasks[0], tasks[1])
    gate.set()
    await tasks[2]
    assert outcomes == {1: "cancelled: by you", 2: "cancelled: by you", 3: "done"}


async def test_shutdown_waits_for_every_job_to_record_its_end() -> None:
    runner = JobRunner(slots=2, per_user=5)
    ended: list[str] = []

    async def work(job: Job) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # e.g. editing the status message
            ended.append(job.cancel_reason or "")

    for i in range(3):
        job = Job(chat_id=1, user_id=i, id=i)
        runner.admit(job)
        runner.start(job, work)
    await asyncio.sleep(0)
    await runner.shutdown("restarting")
    assert ended == ["restarting"] * 3
    assert runner.count(0) == 0


async def test_a_free_slot_goes_to_the_member_with_fewer_jobs_running() -> None:
    runner = JobRunner(slots=2, per_user=5)
    gates = {i: asyncio.Event() for i in range(1, 5)}
    started: list[int] = []
    third = asyncio.Event()

    async def work(job: Job) -> None:
        async with runner.slot(job):
            started.append(job.id)
            if len(started) == 3:
                third.set()
            await gates[job.id].wait()

    # User 7 takes both slots and queues one more; then user 8 queues one.
    for job_id, user in ((1, 7), (2, 7), (3, 7), (4, 8)):
        job = Job(chat_id=-1, user_id=user, id=job_id)
        runner.admit(job)
        runner.start(job, work)
        await asyncio.sleep(0)
    assert started == [1, 2]
    gates[1].set()
    await third.wait()
    assert started[2] == 4  # user 8 first: user 7 still has a job running
    for gate in gates.values():
        gate.set()
    await runner.shutdown("done", grace=5)


async def test_a_user_at_the_cap_is_told_once_until_a_job_ends() -> None:
    runner = JobRunner(slots=4, per_user=1)
    job = Job(chat_id=1, user_id=7, id=1)
    runner.admit(job)
    told = []
    for _ in range(3):
        with pytest.raises(TooManyJobs) as caught:
            runner.admit(Job(chat_id=1, user_id=7))
        told.append(caught.value.already_told)
    assert told == [False, True, True]
    runner.discard(job)
    runner.admit(Job(chat_id=1, user_id=7, id=2))
    with pytest.raises(TooManyJobs) as caught:
        runner.admit(Job(chat_id=1, user_id=7))
    assert not caught.value.already_told  # a new round, a new answer


async def test_a_long_line_reports_places_that_are_worth_an_edit() -> None:
    runner = JobRunner(slots=1, per_user=1)
    releases = [asyncio.Event() for _ in range(31)]
    positions: dict[int, list[int]] = {}

    async def work(job: Job) -> None:
        async with runner.slot(job):
            await releases[job.id].wait()

    tasks = []
    for i in range(31):
        job = Job(chat_id=i, user_id=i, id=i)
        job.on_position = lambda p, i=i: positions.setdefault(i, []).append(p)  # type: ignore[misc]
        runner.admit(job)
        tasks.append(runner.start(job, work))
        await asyncio.sleep(0)
    for release in releases:
        release.set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    last = positions[30]
    assert last[0] == 30 and last[-1] == 1
    assert last == sorted(last, reverse=True) and len(set(last)) == len(last)
    assert len(last) < 20  # not one report per place (30 places, 30 would be the naive count)
    assert list(range(10, 0, -1)) == [p for p in last if p <= 10]
