"""The Pacer: when a provider's status is polled, before and after it learned how long jobs take.

Pure: a fake clock that the test moves, no sleeping (the waits' pauses are an hour long and
end by a finish, never by time).
"""

from __future__ import annotations

import asyncio

import pytest

from providers.core.polling import FIRST_STEP, REMEMBERED_JOBS, Pacer, PollPace, StageFigures


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def schedule(pace: PollPace, clock: Clock, polls: int) -> list[float]:
    """The pauses before ``polls`` polls of a job that never finishes; the clock follows them."""
    pauses = []
    for _ in range(polls):
        pause = pace.next_pause()
        pauses.append(round(pause, 6))
        clock.now += pause
    return pauses


def run_until(pace: PollPace, clock: Clock, finish: float) -> int:
    """Polls a job that is done ``finish`` seconds after it started; returns how many polls."""
    polls = 0
    while True:
        clock.now += pace.next_pause()
        polls += 1
        if pace.elapsed() >= finish:
            pace.finished()
            return polls


def test_before_anything_is_learned_pauses_grow_from_a_small_step_to_the_interval() -> None:
    clock = Clock()
    pace = Pacer(clock=clock).start(2.0)

    assert schedule(pace, clock, 9) == [0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.0, 2.0, 2.0]


def test_after_learning_it_sleeps_until_just_before_the_expected_finish() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    for _ in range(3):
        pacer.learn(3.0)
    pace = pacer.start(10.0)

    # at 2.8 s (one first step early), 3.0 s (the expected finish), then growing steps
    assert schedule(pace, clock, 5) == [2.8, 0.2, 0.2, 0.3, 0.45]


def test_no_pause_is_longer_than_the_interval() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(6.0)
    pace = pacer.start(2.0)

    assert schedule(pace, clock, 5) == [2.0, 2.0, 1.8, 0.2, 0.2]


def test_growth_stops_at_the_interval() -> None:
    clock = Clock()
    pace = Pacer(clock=clock).start(0.5)

    assert schedule(pace, clock, 6) == [0.2, 0.3, 0.45, 0.5, 0.5, 0.5]


def test_a_job_running_late_falls_back_to_the_interval() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(1.0)
    pace = pacer.start(2.0)

    pauses = schedule(pace, clock, 11)

    assert pauses == [0.8, 0.2, 0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875, 2.0, 2.0, 2.0]


def test_a_zero_interval_never_pauses() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(3.0)

    assert schedule(pacer.start(0.0), clock, 4) == [0.0, 0.0, 0.0, 0.0]


def test_while_others_are_ahead_in_the_queue_the_pause_is_the_interval() -> None:
    clock = Clock()
    pace = Pacer(clock=clock).start(2.0)

    assert pace.next_pause(waiting_behind=3) == 2.0
    assert pace.next_pause() == FIRST_STEP


def test_the_expectation_is_the_median_of_the_recent_jobs() -> None:
    pacer = Pacer()
    assert pacer.expected() is None
    for seconds in [100.0] * 5 + [float(n) for n in range(1, REMEMBERED_JOBS + 1)]:
        pacer.learn(seconds)

    assert pacer.expected() == pytest.approx((REMEMBERED_JOBS + 1) / 2)


def test_a_finish_seen_after_a_short_step_is_learned_as_seen() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(3.0)

    assert run_until(pacer.start(10.0), clock, 3.0) == 2  # at 2.8 s and 3.0 s
    assert pacer.expected() == pytest.approx(3.0)


def test_a_finish_seen_after_a_long_pause_is_learned_from_its_middle() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)

    run_until(pacer.start(2.0), clock, 3.0)  # the polls before and after: 2.6375 s and 4.15625 s

    assert pacer.expected() == pytest.approx((2.6375 + 4.15625) / 2)


def test_a_job_done_before_it_was_expected_teaches_an_earlier_finish() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(5.0)
    pace = pacer.start(10.0)

    run_until(pace, clock, 3.0)  # one poll, at 4.8 s

    assert pacer.expected() == pytest.approx((5.0 + 4.6) / 2)


def test_a_resumed_job_neither_uses_nor_teaches_the_expectation() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(3.0)
    pace = pacer.start(2.0, resumed=True)

    assert schedule(pace, clock, 2) == [0.2, 0.3]
    pace.finished()
    assert pacer.expected() == 3.0


def test_once_learned_a_job_costs_few_polls_and_is_seen_soon_after_it_finished() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    for _ in range(3):
        run_until(pacer.start(2.0), clock, 3.0)
    pace = pacer.start(2.0)

    polls = run_until(pace, clock, 3.0)

    assert polls <= 3  # fixed polls 2 s apart also take 3, but see the finish 1 s late
    assert pace.elapsed() - 3.0 <= FIRST_STEP


# --- a cold start: declared durations, the upstream's word, stages, jobs in flight ------------


def test_the_first_jobs_use_the_declared_typical_duration() -> None:
    clock = Clock()
    pacer = Pacer(typical=5.0, typical_by_model={"slow": 9.0}, clock=clock)
    assert not pacer.learned("fast")

    # The longest pause until one first step before the declared 5 s, then short steps.
    assert schedule(pacer.start(2.0, model="fast"), clock, 6) == [2.0, 2.0, 0.8, 0.2, 0.2, 0.3]
    assert pacer.expected("slow") == 9.0  # a model's own declared duration comes first


def test_what_was_learned_replaces_the_declared_duration_per_model() -> None:
    clock = Clock()
    pacer = Pacer(typical=5.0, clock=clock)
    assert run_until(pacer.start(10.0, model="a"), clock, 5.0) == 2  # at 4.8 s and 5.0 s
    pacer.learn(3.0, model="b")

    assert pacer.expected("a") == pytest.approx(5.0)
    assert schedule(pacer.start(10.0, model="b"), clock, 2) == [2.8, 0.2]
    assert pacer.expected("c") == 5.0


def test_an_eta_shapes_the_next_poll() -> None:
    clock = Clock()
    pace = Pacer(typical=10.0, clock=clock).start(5.0)
    clock.now += 1.0
    pace.hint(eta=2.0)  # done 3 s after submission: polled one first step before

    assert schedule(pace, clock, 3) == [1.8, 0.2, 0.2]


def test_a_progress_percentage_shapes_the_next_poll() -> None:
    clock = Clock()
    pace = Pacer(clock=clock).start(5.0)
    clock.now += 1.0
    pace.next_pause()  # seen queued at 1 s
    pace.drawing()
    clock.now += 1.0
    pace.hint(progress=0.25)  # a quarter in 1 s of drawing: done at 1 + 4 = 5 s

    assert pace.expected == pytest.approx(5.0)
    assert schedule(pace, clock, 1) == [2.8]  # until one first step before 5 s


def test_a_queue_position_keeps_the_longest_pause_until_ours_is_next() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.learn(3.0)
    pace = pacer.start(2.0)
    pace.hint(queue_position=4)
    assert schedule(pace, clock, 3) == [2.0, 2.0, 2.0]

    pace.hint(queue_position=0)
    pace.drawing()
    assert schedule(pace, clock, 1) == [FIRST_STEP]  # past the 3 s expected: short steps


def test_a_job_that_left_the_queue_late_expects_the_drawing_time_from_then() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    first = pacer.start(10.0)
    clock.now += 1.0
    first.next_pause()  # seen queued at 1 s
    first.drawing()  # left the queue after 1 s, then 2 s drawing
    clock.now += 1.9
    first.next_pause()
    clock.now += 0.1
    first.finished()
    late = pacer.start(10.0)
    clock.now += 4.0
    late.next_pause()  # seen queued at 4 s
    late.drawing()  # then drawing: done about 2 s later

    assert late.expected == pytest.approx(6.0)
    assert [f.stage for f in pacer.figures("p")] == ["done", "queued"]


def test_jobs_started_together_before_anything_is_learned_spread_their_first_polls() -> None:
    clock = Clock()
    pacer = Pacer(typical=6.0, clock=clock)
    paces = [pacer.start(2.0) for _ in range(5)]

    firsts = [round(pace.next_pause(), 6) for pace in paces]
    assert firsts[0] == 2.0  # the first job follows the declared duration
    assert len(set(firsts[1:])) == 4 and all(0 <= f < 2.0 for f in firsts[1:])
    clock.now += 0.5
    assert paces[1].next_pause() == 2.0  # then the longest pause, until a finish is learned


def test_a_finish_seen_by_one_job_is_learned_from_when_any_was_last_seen_unfinished() -> None:
    clock = Clock()
    pacer = Pacer(typical=6.0, clock=clock)
    a, b = pacer.start(2.0), pacer.start(2.0)
    clock.now += a.next_pause()  # a: 2.0 s
    b.next_pause()
    clock.now += 0.6  # 2.6 s: a polls, still running
    a.next_pause()
    clock.now += 0.6  # 3.2 s: b polls, done; b was last seen running at 2 s, a at 2.6 s

    b.finished()
    assert pacer.expected() == pytest.approx((2.6 + 3.2) / 2)


async def test_a_finish_wakes_the_jobs_of_its_model_as_old_as_it_was() -> None:
    clock = Clock()
    pacer = Pacer(typical=6.0, clock=clock)
    older, finisher, younger, other = (
        pacer.start(3600.0),
        pacer.start(3600.0),
        pacer.start(3600.0),
        pacer.start(3600.0, model="other"),
    )
    clock.now += 1.0
    younger.started += 2.0  # submitted 2 s after the others
    waits = {
        name: asyncio.ensure_future(pace.wait())
        for name, pace in (("older", older), ("younger", younger), ("other", other))
    }
    finisher.next_pause()
    for _ in range(3):
        await asyncio.sleep(0)  # the waits start waiting (their pauses are an hour long)
    clock.now += 2.0  # 3 s after the first three were submitted
    finisher.finished()
    for _ in range(3):
        await asyncio.sleep(0)

    assert waits["older"].done()  # 3 s old too: it polls now
    assert not waits["younger"].done()  # 1 s old: it sleeps until near 3 s
    assert not waits["other"].done()  # another model learned nothing
    expected = pacer.expected()
    assert expected is not None
    assert younger._near_due() == pytest.approx(younger.started + expected - FIRST_STEP)
    for task in waits.values():
        task.cancel()


def test_figures_survive_a_new_pacer() -> None:
    clock = Clock()
    pacer = Pacer(typical=9.0, clock=clock)
    for seconds in (2.0, 3.0, 4.0):
        pacer.learn(seconds, model="flux")
    assert pacer.dirty
    kept = pacer.figures("arta")
    assert not pacer.dirty

    again = Pacer(typical=9.0, clock=clock)
    again.load(kept)
    assert kept == [StageFigures("arta", "flux", "done", (2.0, 3.0, 4.0))]
    assert again.expected("flux") == 3.0
    assert again.learned("flux") and not again.dirty
