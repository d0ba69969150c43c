"""The replicas scenario of ``make bench``: three bot processes in webhook mode behind a
round-robin proxy, sharing one PostgreSQL and one Redis (real servers on 127.0.0.1, started
here), against the Bot API emulator with Telegram's flood limits for one token.

1,000 people each send /imagine in their private chat and 20 members of each of 10 groups send
/imagine in their group, all at the same moment; the last picture is compared with the lower
bound for one token (not three). ``kill`` runs it again with one replica killed (SIGKILL) once
half of the pictures are out: its jobs must resume elsewhere, none lost, none twice.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from bench.edits import BenchEmulator
from bench.run import (
    PICTURE_METHODS,
    Command,
    Result,
    TimedArta,
    _cpu_seconds,
    _peak_rss_mb,
    _replied_to,
    _wait_until,
    bot_env,
    lower_bound,
)
from tests import services
from tests.fakes.round_robin import RoundRobinProxy
from tests.fakes.telegram import FloodPolicy

REPLICAS = 3
HOOK = "https://bot.example.org/tg/hook"
SECRET = "bench-replicas-secret"


def commands(chats: int, groups: int = 10, per_group: int = 20) -> tuple[list[Command], list[int]]:
    """The private burst and the busy groups, at the same moment."""
    group_ids = [-100_700_000 - g for g in range(groups)]
    private = [Command(0, 70_000 + i, 0) for i in range(chats)]
    in_groups = [
        Command(0, g, 80_000 + 1000 * index + i)
        for index, g in enumerate(group_ids)
        for i in range(per_group)
    ]
    return private + in_groups, group_ids


async def _healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("a replica exited at start")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("a replica did not become healthy")


async def run_replicas(chats: int, *, upstream: float, kill: bool) -> Result:
    """One run (see the module's docstring); the Result counts every replica's CPU and the
    largest peak RSS among them, and adds rows for duplicates and the replicas' shares."""
    scenario, group_ids = commands(chats)
    name = f"{REPLICAS} replicas: {chats} private chats + {len(scenario) - chats} jobs in groups"
    if kill:
        name += ", one killed half-way"
    tg = BenchEmulator()
    tg.flood_limits = True
    tg.flood_policy = FloodPolicy()
    arta = TimedArta(upstream)
    ports = [services.free_port() for _ in range(REPLICAS)]
    processes: list[asyncio.subprocess.Process] = []
    async with AsyncExitStack() as stack:
        database = stack.enter_context(services.postgres())
        redis = stack.enter_context(services.redis())
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imagine-bench-")))
        await tg.start()
        stack.push_async_callback(tg.stop)
        await arta.start()
        stack.push_async_callback(arta.stop)
        proxy = await stack.enter_async_context(
            RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        )
        tg.route_webhook(to=proxy.url)
        for group in group_ids:
            tg.add_chat(group, chat_type="supergroup")
        base = {
            **bot_env(tg, data_dir),
            "DATABASE_URL": database.url("postgres"),
            "REDIS_URL": redis.url,
            "WEBHOOK_URL": HOOK,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            **{key.upper(): value for key, value in arta.overrides.items()},
        }
        for index, port in enumerate(ports):
            env = {**base, "REPLICA_ID": f"r{index + 1}", "WEBHOOK_PORT": str(port)}
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=data_dir,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            processes.append(process)
        try:
            await asyncio.gather(
                *(_healthy(p, proc) for p, proc in zip(ports, processes, strict=True))
            )
            cpu_before = [_cpu_seconds(process.pid) for process in processes]
            sent: dict[tuple[int, int], float] = {}
            prompts: dict[tuple[int, int], str] = {}
            for command in scenario:
                group = command.chat_id < 0
                prompt = f"bench {command.chat_id} {command.user_id}"
                text = f"/imagine@{tg.bot_username} {prompt}" if group else f"/imagine {prompt}"
                user = command.user_id if group else None
                message = tg.send_text(command.chat_id, text, user_id=user)
                sent[(command.chat_id, message["message_id"])] = time.monotonic()
                prompts[(command.chat_id, message["message_id"])] = prompt
            start = min(sent.values())

            def pictures() -> Counter[tuple[int, int]]:
                found: Counter[tuple[int, int]] = Counter()
                for call in tg.calls():
                    if call.ok and call.method.lower() in PICTURE_METHODS:
                        key = (int(call.chat_id or 0), _replied_to(call) or 0)
                        if key in sent:
                            found[key] += 1
                return found

            bound = lower_bound(scenario, lambda chat: chat > 0, upstream, tg.flood_policy)
            killed_cpu = 0.0
            if kill:
                await _wait_until(lambda: len(pictures()) >= len(sent) // 2, 3 * bound + 60)
                victim = processes[0]
                killed_cpu = _cpu_seconds(victim.pid) - cpu_before[0]
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
            await _wait_until(lambda: len(pictures()) == len(sent), 3 * bound + 120, step=0.5)
            alive = [p for p in processes if p.returncode is None]
            cpu = killed_cpu + sum(
                _cpu_seconds(p.pid) - before
                for p, before in zip(processes, cpu_before, strict=True)
                if p.returncode is None
            )
            rss = max(_peak_rss_mb(p.pid) for p in alive)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
        found = pictures()
        last = max(
            (c.time for c in tg.calls() if c.ok and c.method.lower() in PICTURE_METHODS),
            default=float("inf"),
        )
        shares = ", ".join(f"{proxy.received[backend]}" for backend in proxy.backends)
        answers: dict[tuple[int, int], float] = {}
        first_picture: dict[tuple[int, int], float] = {}
        for call in tg.calls():
            key = (int(call.chat_id or 0), _replied_to(call) or 0)
            if not call.ok or key not in sent:
                continue
            if call.method == "sendMessage":
                answers.setdefault(key, call.time)
            elif call.method.lower() in PICTURE_METHODS:
                first_picture.setdefault(key, call.time)
        done_to_picture = [
            at - done
            for key, at in first_picture.items()
            if (done := arta.done_at(prompts[key])) is not None
        ]
        result = Result(
            scenario=name,
            jobs=len(sent),
            delivered=len(found),
            too_many_requests=tg.too_many_requests_sent,
            too_many_by_method=dict(Counter(c.method for c in tg.calls() if c.status == 429)),
            last_picture=last - start,
            bound=bound,
            first_answer=[at - sent[key] for key, at in answers.items()],
            done_to_picture=done_to_picture,
            status_edits=sum(1 for c in tg.calls("editMessageText") if c.ok),
            status_polls=arta.status_polls,
            statuses_left=None,  # stopped at the last picture: clean-up comes after
            peak_rss_mb=rss,
            cpu_seconds=cpu,
        )
        result.extra += [
            ("pictures delivered twice", str(sum(1 for n in found.values() if n > 1))),
            ("jobs submitted upstream", str(len(arta.jobs))),
            ("updates per replica (proxy)", shares),
        ]
        return result
