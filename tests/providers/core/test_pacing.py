"""The Pacer: when a provider's status is polled, before and after it learned how long jobs take.

Pure: a fake clock that the test moves, no sleeping.
"""

from __future__ import annotations

import pytest

from providers.core.polling import FIRST_STEP, REMEMBERED_JOBS, Pacer, PollPace


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
