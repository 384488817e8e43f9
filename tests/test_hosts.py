"""Delivery slots per host (bridge/net/hosts.py `Limits`): in memory, a fake clock, no server.
A host earns its share by answering; one that fails or never answers holds one slot, and
after a failure none for a while (cooling down); a 429 halves its share for a while."""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.config import DeliveryConfig
from bridge.net.hosts import (
    BUSY_RETRY_SECONDS,
    COOL_AFTER_5XX,
    COOL_MAX_SECONDS,
    COOL_SECONDS,
    FAILING_RETRY_SECONDS,
    SLOW_DOWN_MAX_SECONDS,
    SLOW_DOWN_SECONDS,
    WAITERS_PER_SLOT,
    Limits,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(concurrency: int = 100, per_host: int = 8) -> tuple[Limits, Clock]:
    clock = Clock()
    return Limits(DeliveryConfig(concurrency=concurrency, per_host_concurrency=per_host), clock=clock), clock


def take(lim: Limits, host: str) -> int:
    """How many slots `host` gets now, taken and given back."""
    n = 0
    while lim.try_acquire(host):
        n += 1
    for _ in range(n):
        lim.release(host)
    return n


def test_a_host_not_heard_from_gets_one_slot_until_it_answers() -> None:
    lim, _ = limits()
    assert lim.try_acquire("new.example") and not lim.try_acquire("new.example")  # a dead one holds one
    assert lim.try_acquire("other.example")  # the others are served meanwhile
    lim.answered("new.example", 202)
    lim.release("new.example")
    assert take(lim, "new.example") == 8
    lim.release("other.example")
    assert lim.busy == {} and lim.total == 0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_drops_a_host_to_one_slot_until_it_answers_again(status: int) -> None:
    lim, _ = limits()
    lim.answered("h.example", 202)
    assert take(lim, "h.example") == 8
    lim.answered("h.example", status)  # one 5xx is usually a moment's (a restart): no cooling down
    assert lim.failing("h.example") and lim.cooling("h.example") == 0 and take(lim, "h.example") == 1
    assert lim.defer_seconds("h.example") == FAILING_RETRY_SECONDS
    lim.answered("h.example", 202)
    assert not lim.failing("h.example") and take(lim, "h.example") == 8
    assert lim.defer_seconds("h.example") == BUSY_RETRY_SECONDS


def test_a_host_that_did_not_answer_cools_down_then_gets_one_slot_until_it_answers_again() -> None:
    lim, clock = limits()
    lim.answered("h.example", 202)
    assert take(lim, "h.example") == 8
    lim.answered("h.example", None)  # no answer: a timeout, a refused or reset connection
    # "A host that just failed doesn't get the next slot" (issue 19): none while it cools down.
    assert lim.failing("h.example") and take(lim, "h.example") == 0
    assert lim.cooling("h.example") == COOL_SECONDS and lim.defer_seconds("h.example") == COOL_SECONDS
    clock.now += COOL_SECONDS
    assert lim.cooling("h.example") == 0 and take(lim, "h.example") == 1  # then one: the probe
    assert lim.defer_seconds("h.example") == COOL_SECONDS  # while the probe runs, the others wait a step
    lim.answered("h.example", 202)
    assert not lim.failing("h.example") and take(lim, "h.example") == 8
    assert lim.defer_seconds("h.example") == BUSY_RETRY_SECONDS


def test_slots_already_held_by_a_host_that_starts_failing_drain_to_one() -> None:
    lim, _clock = limits()
    lim.answered("h.example", 202)
    for _ in range(8):
        assert lim.try_acquire("h.example")
    lim.answered("h.example", None)
    for _held in range(8, 1, -1):  # nothing new while more than one is held
        assert not lim.try_acquire("h.example")
        lim.release("h.example")
    lim.release("h.example")
    _clock.now += COOL_SECONDS
    assert lim.try_acquire("h.example") and not lim.try_acquire("h.example")


def test_failures_in_a_row_cool_a_host_down_longer_and_an_answer_ends_it() -> None:
    lim, clock = limits()
    steps = []
    for _ in range(9):
        lim.answered("dead.example", None)
        steps.append(lim.cooling("dead.example"))
        clock.now += steps[-1]
    assert steps == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert steps[-1] == COOL_MAX_SECONDS
    lim.answered("dead.example", 202)
    # 5xx: from the third in a row (one 503 is weather), then doubling as well.
    seen = []
    for _ in range(COOL_AFTER_5XX + 1):
        lim.answered("dead.example", 503)
        seen.append(lim.cooling("dead.example"))
        clock.now += seen[-1]
    assert seen == [0, 0, 5, 10]
    lim.answered("dead.example", 404)  # any answer but a 5xx: it is up
    assert lim.cooling("dead.example") == 0 and not lim.failing("dead.example")
    lim.answered("dead.example", None)  # and the count starts again
    assert lim.cooling("dead.example") == COOL_SECONDS
    # Other hosts are not touched.
    assert lim.cooling("other.example") == 0 and lim.try_acquire("other.example")


def test_a_4xx_is_an_answer_and_a_429_halves_the_share_for_a_while() -> None:
    lim, clock = limits()
    lim.answered("h.example", 401)  # up and speaking (it refused our signature)
    assert take(lim, "h.example") == 8
    lim.answered("h.example", 429, 2.0)  # Retry-After 2 s: slowed for the minute anyway
    assert take(lim, "h.example") == 4
    lim.answered("h.example", 429)
    assert take(lim, "h.example") == 2
    lim.answered("h.example", 202)  # a success does not end the slow-down early: be polite
    assert take(lim, "h.example") == 2
    clock.now += SLOW_DOWN_SECONDS - 1
    assert take(lim, "h.example") == 2
    clock.now += 1
    assert take(lim, "h.example") == 8
    lim.answered("h.example", 429, 600.0)  # a longer Retry-After: that long
    clock.now += 599
    assert take(lim, "h.example") == 4
    clock.now += 1
    assert take(lim, "h.example") == 8
    lim.answered("h.example", 429, 10.0**9)  # capped
    clock.now += SLOW_DOWN_MAX_SECONDS
    assert take(lim, "h.example") == 8


def test_repeated_429s_go_down_to_one_slot_never_zero() -> None:
    lim, _ = limits()
    for _ in range(6):
        lim.answered("h.example", 429)
    assert take(lim, "h.example") == 1
    lim.answered("new.example", 429)  # a first answer that is a 429: half the share
    assert take(lim, "new.example") == 4


def test_the_global_cap_holds_across_hosts() -> None:
    lim, _ = limits(concurrency=10, per_host=8)
    for host in ("a.example", "b.example"):
        lim.answered(host, 202)
    assert take(lim, "a.example") == 8
    for _ in range(8):
        assert lim.try_acquire("a.example")
    assert take(lim, "b.example") == 2


# -- acquire: waiting a moment for a busy host, in the worker's slot ------------------------

async def test_deliveries_to_a_new_host_wait_for_its_first_answer_then_share_its_slots() -> None:
    lim, _ = limits(per_host=4)
    assert await lim.acquire("new.example")
    waiting = [asyncio.create_task(lim.acquire("new.example", patience=5)) for _ in range(6)]
    await asyncio.sleep(0.01)
    assert not any(task.done() for task in waiting) and lim.waiting == 6
    lim.answered("new.example", 202)  # the first answer opens the host's share (4)…
    await asyncio.sleep(0.01)
    assert sum(task.done() for task in waiting) == 3
    lim.release("new.example")  # …and each slot given back goes to the next in line
    await asyncio.sleep(0.01)
    assert sum(task.done() for task in waiting) == 4 and all(task.result() for task in waiting if task.done())
    for _ in range(4):
        lim.release("new.example")
    assert all(await asyncio.gather(*waiting)) and lim.busy == {"new.example": 7 - 5} and lim.waiting == 0


async def test_a_first_answer_that_is_a_failure_sends_the_waiting_deliveries_away_at_once() -> None:
    lim, clock = limits()
    assert await lim.acquire("dead.example")
    waiting = [asyncio.create_task(lim.acquire("dead.example", patience=5)) for _ in range(3)]
    await asyncio.sleep(0.01)
    started = time.monotonic()
    lim.answered("dead.example", None)  # its first request timed out
    lim.release("dead.example")
    # It just failed: nobody takes its slot, they all go at once, to come back when it has cooled.
    assert await asyncio.gather(*waiting) == [False, False, False]
    assert time.monotonic() - started < 0.5
    assert lim.busy == {}
    assert not await lim.acquire("dead.example")  # no waiting for a failing host
    assert lim.defer_seconds("dead.example") == COOL_SECONDS
    clock.now += COOL_SECONDS
    assert await lim.acquire("dead.example") and not lim.try_acquire("dead.example")  # one probe
    assert lim.defer_seconds("dead.example") >= FAILING_RETRY_SECONDS


async def test_waiting_is_bounded_by_patience_and_by_host() -> None:
    lim, _ = limits(concurrency=2, per_host=1)
    assert await lim.acquire("a.example")
    started = time.monotonic()
    assert not await lim.acquire("a.example", patience=0.05)  # out of patience: deferred
    assert 0.04 <= time.monotonic() - started < 1
    held = [asyncio.create_task(lim.acquire("a.example", patience=5)) for _ in range(WAITERS_PER_SLOT)]
    await asyncio.sleep(0.01)
    assert not await lim.acquire("a.example", patience=5)  # as many as 4 × its share wait already: at once
    lim.answered("b.example", 202)
    assert lim.try_acquire("b.example")
    assert not await lim.acquire("c.example", patience=5)  # every slot of the process is taken: at once
    for task in held:
        task.cancel()
    await asyncio.gather(*held, return_exceptions=True)
    assert lim.waiting == 0 and lim._waiters == {}


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    lim, _ = limits(per_host=1)
    lim.answered("a.example", 202)
    assert await lim.acquire("a.example")
    first = asyncio.create_task(lim.acquire("a.example", patience=5))
    second = asyncio.create_task(lim.acquire("a.example", patience=5))
    await asyncio.sleep(0.01)
    lim.release("a.example")  # wakes `first`…
    first.cancel()  # …which is cancelled before it runs: `second` gets the slot
    assert await second is True
    with pytest.raises(asyncio.CancelledError):
        await first
    assert lim.busy == {"a.example": 1} and lim.waiting == 0
