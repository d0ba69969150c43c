"""Several replicas of ``python -m bot`` (real processes) in webhook mode behind a round-robin
proxy, sharing one real PostgreSQL and one real Redis: every update handled once, every job
delivered once, a replica killed or stopped leaves its jobs to the others, and PostgreSQL or
Redis going away costs nothing."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from tests.e2e.conftest import World
from tests.e2e.process import start_bot, stop
from tests.fakes.arta import png_bytes
from tests.fakes.round_robin import RoundRobinProxy
from tests.services import PostgresServer, RedisServer, free_port

SECRET = "replica-Secret_1"
HOOK = "https://bot.example.org/tg/hook"
START_TIMEOUT = 60.0
OPERATOR = 2099
TAKEOVER_TIMEOUT = 45.0  # the contract is 30 s; the margin is for a loaded test machine


@dataclass
class Replica:
    name: str
    port: int
    process: asyncio.subprocess.Process | None = None
    log: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    world: World
    database: str
    redis: str
    proxy: RoundRobinProxy
    replicas: dict[str, Replica] = field(default_factory=dict)
    own_dirs: bool = False  # each replica a DATA_DIR of its own (another machine's disk)

    def env(self, replica: Replica) -> dict[str, str]:
        own = {}
        if self.own_dirs:
            data_dir = self.world.data_dir / replica.name
            data_dir.mkdir(exist_ok=True)
            own["DATA_DIR"] = str(data_dir)
        return {
            **own,
            "DATABASE_URL": self.database,
            "REDIS_URL": self.redis,
            "REPLICA_ID": replica.name,
            "WEBHOOK_URL": HOOK,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(replica.port),
            "SHUTDOWN_GRACE": "0",
            "ADMIN_USER_IDS": str(OPERATOR),
            "FALLBACK_IMAGE_MODELS": "none",
        }

    async def start(self, name: str) -> Replica:
        replica = self.replicas[name]
        replica.process = await start_bot(self.world, **self.env(replica))
        await healthy(replica)
        return replica

    async def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        replica = self.replicas[name]
        assert replica.process is not None
        replica.log += await stop(replica.process, sig)
        replica.process = None

    async def stop_all(self) -> None:
        for replica in self.replicas.values():
            if replica.process is not None:
                replica.log += await stop(replica.process, signal.SIGTERM)
                replica.process = None

    async def clock(self) -> float:
        """The latest beat of any replica (the replicas' own clock, in the database)."""
        connection = await asyncpg.connect(self.database)
        try:
            return float(await connection.fetchval("SELECT max(seen_at) FROM replicas"))
        finally:
            await connection.close()

    async def beat_after(self, name: str, after: float) -> float | None:
        """When the replica ``name`` last beat, once that is later than ``after``."""
        connection = await asyncpg.connect(self.database)
        try:
            seen = await connection.fetchval("SELECT seen_at FROM replicas WHERE id = $1", name)
        finally:
            await connection.close()
        return float(seen) if seen is not None and seen > after else None

    async def held_upstream(self, chats: range, subject: str) -> list[dict[str, Any]]:
        """Sends ``/imagine <subject> <chat>`` in each chat; every job once each is accepted
        upstream (where the caller holds them with ``queue_polls``)."""
        for chat in chats:
            self.world.tg.send_text(chat, f"/imagine {subject} {chat}")
        jobs: list[dict[str, Any]] = await wait_async(lambda: all_upstream(self, len(chats)))
        return jobs

    async def jobs(self) -> list[dict[str, Any]]:
        connection = await asyncpg.connect(self.database)
        try:
            rows = await connection.fetch(
                "SELECT id, chat_id, status, upstream_job_id, lease_owner FROM jobs ORDER BY id"
            )
        finally:
            await connection.close()
        return [dict(row) for row in rows]


async def healthy(replica: Replica) -> None:
    """Waits until the replica answers /healthz with 200 (it started and reached the database)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while True:
            assert replica.process is not None
            if replica.process.returncode is not None:
                raise AssertionError(f"{replica.name} exited: {await stop(replica.process)}")
            try:
                async with http.get(f"{replica.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise AssertionError(f"{replica.name} did not become healthy")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def cluster(
    world: World,
    postgres_url: str,
    redis_server: RedisServer,
    count: int = 3,
    *,
    own_dirs: bool = False,
) -> AsyncIterator[Cluster]:
    replicas = [Replica(f"r{n}", free_port()) for n in range(1, count + 1)]
    async with AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(RoundRobinProxy([r.url for r in replicas]))
        world.tg.route_webhook(to=proxy.url)
        made = Cluster(world, postgres_url, redis_server.url, proxy, own_dirs=own_dirs)
        made.replicas = {r.name: r for r in replicas}
        try:
            await asyncio.gather(*(made.start(r.name) for r in replicas))
            yield made
        finally:
            await made.stop_all()


def photos_in(world: World, chat_id: int) -> list[Any]:
    return [m for m in world.tg.bot_messages(chat_id) if m.kind == "photo"]


async def test_three_replicas_share_the_updates_and_deliver_each_job_once(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    chats = range(2001, 2013)
    async with cluster(world, postgres_url, redis_server) as replicas:
        commands = {
            chat: world.tg.send_text(chat, f"/imagine a fox number {chat}") for chat in chats
        }
        for chat, command in commands.items():
            await world.photos_for(chat, command, 1)
        await world.tg.webhook_idle()
        proxy = replicas.proxy
        assert all(proxy.received[r.url] > 0 for r in replicas.replicas.values())
        jobs = await wait_async(lambda: all_ended(replicas))
        stats = world.tg.send_text(OPERATOR, "/stats")
        answer = await world.reply_to(OPERATOR, stats, lambda m: "replica" in (m.text or ""))
    assert all(len(photos_in(world, chat)) == 1 for chat in chats)
    assert len(world.arta.job_list) == len(chats)  # no job was sent upstream twice
    assert "replicas alive: r1, r2, r3" in (answer.text or "")
    assert sorted(job["chat_id"] for job in jobs) == list(chats)
    assert len({job["lease_owner"] for job in jobs}) > 1  # the jobs ran on several replicas


async def test_an_update_sent_to_two_replicas_at_once_is_answered_once(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    async with cluster(world, postgres_url, redis_server, count=2) as replicas:
        world.tg.route_webhook(to=None)  # this test posts the updates itself
        message = world.tg.send_text(2101, "/help")
        update = {"update_id": 900_001, "message": message}
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession() as http:

            async def post(replica: Replica) -> int:
                async with http.post(f"{replica.url}/tg/hook", json=update, headers=headers) as r:
                    return r.status

            statuses = await asyncio.gather(*(post(r) for r in replicas.replicas.values()))
            await world.tg.wait_for(lambda: world.tg.bot_messages(2101))
            again = await post(replicas.replicas["r1"])  # Telegram's late copy
    assert sorted(statuses) in ([200, 200], [200, 503])  # the other one: "busy, try later"
    assert again == 200
    answers = [m for m in world.tg.bot_messages(2101) if m.reply_to == message["message_id"]]
    assert len(answers) == 1


async def test_a_replica_killed_mid_job_leaves_its_jobs_to_the_others(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    world.arta.queue_polls = 10**9  # every job waits upstream until released
    chats = range(2201, 2210)
    async with cluster(world, postgres_url, redis_server) as replicas:
        jobs = await replicas.held_upstream(chats, "a heron")
        victim = busiest(jobs)
        orphans = {job["id"] for job in jobs if job["lease_owner"] == victim}
        await replicas.kill(victim)
        world.arta.queue_polls = 0
        for chat in chats:
            await world.tg.wait_for(
                lambda chat=chat: photos_in(world, chat), timeout=TAKEOVER_TIMEOUT
            )
        after = {job["id"]: job for job in await wait_async(lambda: all_ended(replicas))}
    assert all(len(photos_in(world, chat)) == 1 for chat in chats)  # never delivered twice
    assert len(world.arta.job_list) == len(chats)  # followed by upstream id, never resubmitted
    assert all(after[job]["lease_owner"] != victim for job in orphans)


async def test_a_replica_that_stalls_past_its_lease_leaves_the_job_to_its_taker(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    """A replica frozen (SIGSTOP) long enough loses its jobs to another one; when it wakes it
    drops them without a word: each picture once, no "stopped" or "paused" in the chat."""
    world.arta.queue_polls = 10**9
    chats = range(2301, 2305)
    async with cluster(world, postgres_url, redis_server, count=2) as replicas:
        frozen = replicas.replicas[busiest(await replicas.held_upstream(chats, "a stork"))]
        assert frozen.process is not None
        frozen.process.send_signal(signal.SIGSTOP)
        world.arta.queue_polls = 0
        for chat in chats:
            await world.tg.wait_for(
                lambda chat=chat: photos_in(world, chat), timeout=TAKEOVER_TIMEOUT
            )
        woke = await replicas.clock()
        frozen.process.send_signal(signal.SIGCONT)
        for _ in range(2):  # two beats after waking: what the first found is dealt with
            woke = await wait_async(lambda after=woke: replicas.beat_after(frozen.name, after))
        await replicas.stop_all()
    assert "outcome=taken_over" in frozen.log
    for chat in chats:
        assert len(photos_in(world, chat)) == 1
        texts = [m.text or "" for m in world.tg.bot_messages(chat)]
        assert not [t for t in texts if t.startswith(("⏹", "⚠️", "⏸"))], texts
    assert len(world.arta.job_list) == len(chats)


def busiest(jobs: list[dict[str, Any]]) -> str:
    """The replica holding most of ``jobs``."""
    owners = [job["lease_owner"] for job in jobs]
    return max(set(owners), key=owners.count)


async def all_upstream(replicas: Cluster, count: int) -> list[dict[str, Any]] | None:
    """Every job, once there are ``count`` and each was accepted upstream."""
    jobs = await replicas.jobs()
    return jobs if len(jobs) == count and all(job["upstream_job_id"] for job in jobs) else None


async def all_ended(replicas: Cluster, status: str = "done") -> list[dict[str, Any]] | None:
    """Every job, once every one ended with ``status``."""
    jobs = await replicas.jobs()
    return jobs if jobs and all(job["status"] == status for job in jobs) else None


async def wait_async(check: Any, timeout: float = 30.0) -> Any:  # noqa: ASYNC109
    """Polls an async ``check`` until it returns something (a deadline, not a race)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (found := await check()) is None:
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)
    return found


async def health_of(replica: Replica) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{replica.url}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_a_stopped_replica_hands_its_jobs_over_at_once(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    world.arta.queue_polls = 10**9
    chats = range(2301, 2307)
    async with cluster(world, postgres_url, redis_server, count=2) as replicas:
        jobs = await replicas.held_upstream(chats, "an owl")
        leaving = jobs[0]["lease_owner"]
        await replicas.kill(leaving, signal.SIGTERM)
        log = replicas.replicas[leaving].log
        stayed = next(name for name in replicas.replicas if name != leaving)

        async def handed_over() -> list[dict[str, Any]] | None:
            found = await replicas.jobs()
            return found if all(job["lease_owner"] == stayed for job in found) else None

        await wait_async(handed_over, timeout=8.0)  # a beat (3 s) and a margin, not a lease (10 s)
        world.arta.queue_polls = 0
        for chat in chats:
            await world.tg.wait_for(lambda chat=chat: photos_in(world, chat), timeout=30)
    assert "handed" in log and f"[{leaving}]" in log  # the log names the replica
    assert all(len(photos_in(world, chat)) == 1 for chat in chats)
    assert len(world.arta.job_list) == len(chats)


async def test_the_per_user_cap_and_cancel_hold_across_replicas(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    world.arta.queue_polls = 10**9
    user = 2401
    async with cluster(world, postgres_url, redis_server) as replicas:
        first = [world.tg.send_text(user, f"/imagine a lynx {n}") for n in (1, 2)]
        await wait_async(lambda: all_upstream(replicas, 2))
        owners = {job["lease_owner"] for job in await replicas.jobs()}
        third = world.tg.send_text(user, "/imagine a third lynx")
        refusal = await world.reply_to(user, third, lambda m: "already have" in (m.text or ""))
        cancel = world.tg.send_text(user, "/cancel")
        answer = await world.reply_to(user, cancel, lambda m: "Cancelling" in (m.text or ""))
        for command in first:
            await world.reply_to(
                user, command, lambda m: "Stopped" in (m.text or "") or "⏹" in (m.text or "")
            )
        jobs = await wait_async(lambda: all_ended(replicas, "cancelled"))
    assert "2 jobs" in (refusal.text or "")
    assert "2 jobs" in (answer.text or "")
    assert len(jobs) == 2 and not photos_in(world, user)
    assert len(owners) == 2  # the two jobs ran on two replicas; a third refused the third


async def test_postgresql_restarted_mid_run_costs_nothing(
    world: World, postgres_url: str, redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    world.arta.queue_polls = 10**9
    chats = range(2501, 2507)
    async with cluster(world, postgres_url, redis_server, count=2) as replicas:
        commands = {chat: world.tg.send_text(chat, f"/imagine a seal {chat}") for chat in chats}

        await wait_async(lambda: all_upstream(replicas, len(chats)))
        await asyncio.to_thread(postgres_server.restart)
        world.arta.queue_polls = 0
        later = {chat: world.tg.send_text(chat, f"/imagine a walrus {chat}") for chat in chats}
        for chat in chats:
            await world.photos_for(chat, commands[chat], 1)
            await world.photos_for(chat, later[chat], 1)
        statuses = [await health_of(r) for r in replicas.replicas.values()]
    assert all(len(photos_in(world, chat)) == 2 for chat in chats)
    assert len(world.arta.job_list) == 2 * len(chats)
    assert [status for status, _ in statuses] == [200, 200]


async def test_redis_stopped_and_started_keeps_the_bot_drawing(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    async with cluster(world, postgres_url, redis_server, count=2) as replicas:
        first = {chat: world.tg.send_text(chat, f"/imagine a crow {chat}") for chat in (2601, 2602)}
        for chat, command in first.items():
            await world.photos_for(chat, command, 1)
        redis_server.stop()
        try:
            down = {
                chat: world.tg.send_text(chat, f"/imagine a rook {chat}") for chat in (2603, 2604)
            }
            for chat, command in down.items():
                await world.photos_for(chat, command, 1)
            replica = replicas.replicas["r1"]

            async def reported_down() -> dict[str, Any] | None:
                status, body = await health_of(replica)
                return body if status == 200 and body.get("redis") is False else None

            await wait_async(reported_down)
        finally:
            redis_server.start()

        async def reported_up() -> dict[str, Any] | None:
            status, body = await health_of(replica)
            return body if status == 200 and body.get("redis") is True else None

        await wait_async(reported_up)
        after = world.tg.send_text(2605, "/imagine a raven")
        await world.photos_for(2605, after, 1)
    logs = "".join(r.log for r in replicas.replicas.values())
    assert "Redis" in logs and "back" in logs
    assert all(len(photos_in(world, chat)) == 1 for chat in range(2601, 2606))


async def test_a_replica_restarted_under_its_own_name_takes_its_jobs_back(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    """Docker restarting a crashed container: the same REPLICA_ID, a new process."""
    world.arta.queue_polls = 10**9
    chats = range(2701, 2704)
    async with cluster(world, postgres_url, redis_server, count=1) as replicas:
        await replicas.held_upstream(chats, "a stork")
        await replicas.kill("r1")
        world.arta.queue_polls = 0
        await replicas.start("r1")
        for chat in chats:
            await world.tg.wait_for(lambda chat=chat: photos_in(world, chat), timeout=30)
        await wait_async(lambda: all_ended(replicas))
    assert all(len(photos_in(world, chat)) == 1 for chat in chats)
    assert len(world.arta.job_list) == len(chats)


async def test_pictures_waiting_for_telegram_are_delivered_by_another_replica(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    """The pictures waiting for Telegram are in PostgreSQL, not on the dead replica's disk."""
    chats = range(2801, 2805)
    tg = world.tg
    tg.hold("sendPhoto")
    async with cluster(world, postgres_url, redis_server, count=2, own_dirs=True) as replicas:
        for chat in chats:
            tg.send_text(chat, f"/imagine a puffin {chat}")
        await tg.wait_for(lambda: tg.held("sendPhoto") == len(chats), timeout=30)
        jobs = await replicas.jobs()
        assert {job["status"] for job in jobs} == {"delivering"}
        await replicas.kill(busiest(jobs))
        tg.release("sendPhoto", drop=True)  # what the dead replica sent never reached Telegram
        for chat in chats:
            await tg.wait_for(lambda chat=chat: photos_in(world, chat), timeout=TAKEOVER_TIMEOUT)
        await wait_async(lambda: all_ended(replicas))
    assert all(len(photos_in(world, chat)) == 1 for chat in chats)
    assert len(world.arta.job_list) == len(chats)  # sent from the stored pictures, not redrawn


async def test_the_originals_are_sent_by_a_replica_that_did_not_draw_them(
    world: World, postgres_url: str, redis_server: RedisServer
) -> None:
    tg = world.tg
    chat = 2901
    async with cluster(world, postgres_url, redis_server, count=2, own_dirs=True) as replicas:
        command = tg.send_text(chat, "/imagine a lighthouse")
        [photo] = await world.photos_for(chat, command, 1)
        [job] = await wait_async(lambda: all_ended(replicas))
        drew = next(r for r in replicas.replicas.values() if r.name == job["lease_owner"])
        await replicas.kill(drew.name, signal.SIGTERM)
        [original] = [b for b in photo.buttons if b["text"].startswith("📎")]
        tg.press_button(chat, photo.message_id, original["callback_data"])
        document = await world.reply_to(
            chat, {"message_id": photo.message_id}, lambda m: m.kind == "document"
        )
    assert document.document == png_bytes(0)  # the upstream's file, byte for byte
