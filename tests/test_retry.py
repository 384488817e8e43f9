"""The retry policy is a pure function: its schedule is exactly what it says."""

from __future__ import annotations

import pytest

from bridge.jobs.retry import Decision, Outcome, PermanentError, RetryLater, RetryPolicy, backoff, decide, schedule

POLICY = RetryPolicy(base_seconds=30, max_seconds=6 * 3600, max_attempts=15, jitter=0.2)
MIDDLE = lambda: 0.5  # noqa: E731 - no jitter at the middle of the range


def test_schedule_doubles_from_the_base_and_stops_at_the_cap() -> None:
    assert schedule(POLICY, MIDDLE) == [
        30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600, 21600,
    ]
    assert sum(schedule(POLICY, MIDDLE)) == 117_090


def test_the_default_schedule_tries_again_within_seconds_then_backs_off_for_two_days() -> None:
    """Issue 19: most failures last a moment (a 503 during a restart, a dropped connection),
    so the first retries come within seconds; issue 6: a server down over a weekend still
    gets its deliveries, ~2 days of attempts in all, like Mastodon's 16 over 50–75 hours."""
    delays = schedule(RetryPolicy(), MIDDLE)
    assert delays[:6] == [5, 10, 20, 40, 80, 160]
    assert delays[12] == 20_480 and delays[13:] == [21_600] * 7  # then the 6 h cap
    assert len(delays) == 20  # 21 attempts
    assert sum(delays) == 192_155  # 53.4 hours: the "about 53 hours" of config.example.toml and README
    low, high = sum(schedule(RetryPolicy(), lambda: 0.0)), sum(schedule(RetryPolicy(), lambda: 0.999999))
    assert 42 * 3600 <= low and high <= 60 * 3600, (low / 3600, high / 3600)  # with the jitter's extremes
    first = [backoff(RetryPolicy(), 1, lambda r=r: r) for r in (0.0, 0.999999)]
    assert first == pytest.approx([4.0, 6.0], rel=1e-5)  # the first retry: 5 s ±20%


@pytest.mark.parametrize("attempts", range(1, 15))
def test_jitter_stays_within_its_band_and_under_the_cap(attempts: int) -> None:
    raw = min(POLICY.max_seconds, POLICY.base_seconds * 2 ** (attempts - 1))
    low, high = backoff(POLICY, attempts, lambda: 0.0), backoff(POLICY, attempts, lambda: 0.999999)
    assert low == pytest.approx(raw * 0.8)
    assert high == pytest.approx(min(POLICY.max_seconds, raw * 1.2), rel=1e-5)
    assert high <= POLICY.max_seconds


def test_transient_failure_is_retried_after_the_backoff() -> None:
    assert decide(POLICY, 3, RuntimeError("reset"), MIDDLE) == Decision(Outcome.RETRY, delay=120)
    assert decide(RetryPolicy(), 1, RuntimeError("503"), MIDDLE) == Decision(Outcome.RETRY, delay=5)


def test_retry_after_is_honoured_as_given_within_bounds() -> None:
    """Issue 19: a 429 with Retry-After 2 comes back after 2 s, not after our own backoff."""
    policy = RetryPolicy()
    assert decide(policy, 1, RetryLater("429", after=2), MIDDLE).delay == 2  # sooner than the 5 s backoff
    assert decide(policy, 1, RetryLater("503", after=600), MIDDLE).delay == 600  # later than it
    assert decide(policy, 1, RetryLater("429", after=0), MIDDLE).delay == policy.min_retry_after == 1
    assert decide(policy, 1, RetryLater("503", after=10**9), MIDDLE).delay == policy.max_seconds
    assert decide(policy, 1, RetryLater("503", after=float("inf")), MIDDLE).delay == policy.max_seconds
    # No jitter on what the server asked for.
    assert {decide(policy, 2, RetryLater("429", after=2), lambda r=r: r).delay for r in (0.0, 0.5, 0.99)} == {2}


def test_a_server_that_keeps_saying_soon_cannot_use_up_the_attempts_in_a_minute() -> None:
    """After `as_given_attempts`, a Retry-After is never sooner than the backoff: a server
    answering "429, Retry-After: 1" to every try still gets its two days."""
    policy = RetryPolicy()
    told = [decide(policy, n, RetryLater("429", after=1), MIDDLE).delay for n in range(1, policy.max_attempts)]
    assert told[:policy.as_given_attempts] == [1] * policy.as_given_attempts
    assert told[policy.as_given_attempts:] == schedule(policy, MIDDLE)[policy.as_given_attempts:]
    assert sum(told) >= sum(schedule(policy, MIDDLE)) - 5 - 10 - 20 - 40 - 80
    assert decide(policy, 8, RetryLater("503", after=7200), MIDDLE).delay == 7200  # never sooner than asked


def test_permanent_failure_and_last_attempt_give_up() -> None:
    assert decide(POLICY, 1, PermanentError("410 Gone")).outcome is Outcome.DEAD
    last = decide(POLICY, 15, RuntimeError("timeout"))
    assert last.outcome is Outcome.DEAD and last.reason == "gave up after 15 attempts"
    assert decide(POLICY, 14, RuntimeError("timeout")).outcome is Outcome.RETRY
    assert decide(POLICY, 15, RetryLater("429", after=1)).outcome is Outcome.DEAD


def test_huge_attempt_counts_do_not_overflow() -> None:
    assert backoff(POLICY, 10_000, MIDDLE) == POLICY.max_seconds
