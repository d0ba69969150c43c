"""Replicas sharing a database: heartbeats, updates taken once, job leases taken over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Storage
from bot.storage.records import JobStatus


@pytest.fixture
async def storage(database: Path | str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database)
    yield opened
    await opened.close()


async def new_job(storage: Storage, message_id: int) -> int:
    job_id = await storage.create_job(
        kind="imagine",
        chat_id=7,
        user_id=7,
        command_message_id=message_id,
        prompt="a fox",
        model="arta/flux",
    )
    assert job_id is not None
    return job_id


async def test_an_update_is_handled_by_one_replica_and_dropped_once_done(
    storage: Storage,
) -> None:
    await storage.beat("a", 100.0)
    await storage.beat("b", 100.0)
    verdicts = await asyncio.gather(
        *(storage.take_update(41, name, now=100.0, alive=90.0) for name in "abcde")
    )
    assert sorted(verdicts) == ["busy", "busy", "busy", "busy", "mine"]
    await storage.update_done(41)
    assert await storage.take_update(41, "c", now=101.0, alive=91.0) == "done"

    assert await storage.forget_updates(before=150.0) == 1
    assert await storage.take_update(41, "c", now=200.0, alive=190.0) == "mine"


async def test_an_update_whose_replica_died_unfinished_is_taken_again(storage: Storage) -> None:
    await storage.beat("a", 100.0)
    assert await storage.take_update(7, "a", now=100.0, alive=85.0) == "mine"
    assert await storage.take_update(7, "b", now=110.0, alive=95.0) == "busy"  # a is at it
    # a never beat again and never finished it: Telegram's next try goes to b
    assert await storage.take_update(7, "b", now=120.0, alive=105.0) == "mine"
    assert await storage.take_update(7, "a", now=121.0, alive=106.0) == "busy"
    await storage.update_done(7)
    assert await storage.take_update(7, "a", now=122.0, alive=107.0) == "done"


async def test_replicas_alive_are_those_seen_lately(storage: Storage) -> None:
    await storage.beat("a", 100.0)
    await storage.beat("b", 90.0)
    await storage.beat("b", 110.0)
    await storage.beat("c", 50.0)
    assert await storage.replicas_alive(since=95.0) == ["a", "b"]

    await storage.forget_replica("a", before=95.0)  # a stops; c has been silent for long
    assert await storage.replicas_alive(since=0.0) == ["b"]


async def test_a_held_lease_keeps_a_job_with_its_replica_until_it_runs_out(
    storage: Storage,
) -> None:
    job = await new_job(storage, 1)
    assert await storage.claim_job(job, "a", now=100.0, until=115.0)
    assert not await storage.claim_job(job, "b", now=110.0, until=125.0)
    assert await storage.claim_job(job, "a", now=110.0, until=125.0)  # a renews its own
    assert await storage.claim_orphans("b", now=120.0, until=135.0, limit=10) == []
    assert await storage.claim_orphans("a", now=120.0, until=135.0, limit=10) == []

    assert await storage.renew_leases("a", until=140.0, job_ids=[job]) == []  # none lost
    assert await storage.claim_orphans("b", now=130.0, until=145.0, limit=10) == []
    assert await storage.claim_orphans("b", now=141.0, until=156.0, limit=10) == [job]
    assert not await storage.claim_job(job, "a", now=142.0, until=157.0)
    # a stalled past its lease: its renewal says the job is b's now, and leaves it b's
    assert await storage.renew_leases("a", until=160.0, job_ids=[job]) == [job]
    assert await storage.claim_orphans("b", now=150.0, until=165.0, limit=10) == []
    assert not await storage.claim_job(job, "a", now=150.0, until=165.0)
    await storage.update_job(job, status=JobStatus.DONE)  # b delivered it
    assert not await storage.claim_job(job, "a", now=170.0, until=185.0)  # its lease is over


async def test_only_the_jobs_running_here_are_renewed(storage: Storage) -> None:
    running, left = await new_job(storage, 1), await new_job(storage, 2)
    for job in (running, left):  # left: a run before this one, under the same name
        assert await storage.claim_job(job, "a", now=100.0, until=115.0)
    assert await storage.renew_leases("a", until=130.0, job_ids=[running]) == []
    assert await storage.claim_orphans("b", now=120.0, until=135.0, limit=10) == [left]


async def test_a_restarted_replica_takes_its_own_jobs_back_once_their_lease_ran_out(
    storage: Storage,
) -> None:
    job = await new_job(storage, 1)
    assert await storage.claim_job(job, "a", now=100.0, until=115.0)
    assert await storage.claim_orphans("a", now=116.0, until=131.0, limit=10) == [job]


async def test_a_stopping_replica_hands_its_jobs_over_at_once(storage: Storage) -> None:
    jobs = [await new_job(storage, n) for n in (1, 2, 3)]
    for job in jobs:
        assert await storage.claim_job(job, "a", now=100.0, until=1000.0)
    await storage.update_job(jobs[2], status=JobStatus.DONE)

    assert await storage.release_leases("a") == 2
    assert await storage.claim_orphans("b", now=101.0, until=116.0, limit=10) == jobs[:2]


async def test_replicas_claiming_together_share_the_orphans_without_overlap(
    storage: Storage,
) -> None:
    jobs = [await new_job(storage, n) for n in range(1, 31)]
    claims = await asyncio.gather(
        *(storage.claim_orphans(name, now=100.0, until=115.0, limit=12) for name in ("a", "b", "c"))
    )
    taken = [job for claim in claims for job in claim]
    assert sorted(taken) == jobs
    assert len(set(taken)) == len(taken)
