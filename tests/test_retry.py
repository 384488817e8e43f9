"""The retry policy is a pure function: its schedule is exactly what it says."""

from __future__ import annotations

import pytest

from bridge.jobs.retry import Decision, Outcome, PermanentError, RetryLater, RetryPolicy, backoff, decide, schedule

POLICY = RetryPolicy(base_seconds=30, max_seconds=6 * 3600, max_attempts=15, jitter=0.2)


def test_schedule_doubles_from_the_base_and_stops_at_the_cap() -> None:
    middle = lambda: 0.5  # noqa: E731 - no jitter at the middle of the range
    assert schedule(POLICY, middle) == [
        30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600, 21600,
    ]
    assert sum(schedule(POLICY, middle)) == 117_090  # the "about 32 hours" of config.example.toml


@pytest.mark.parametrize("attempts", range(1, 15))
def test_jitter_stays_within_its_band_and_under_the_cap(attempts: int) -> None:
    raw = min(POLICY.max_seconds, POLICY.base_seconds * 2 ** (attempts - 1))
    low, high = backoff(POLICY, attempts, lambda: 0.0), backoff(POLICY, attempts, lambda: 0.999999)
    assert low == pytest.approx(raw * 0.8)
    assert high == pytest.approx(min(POLICY.max_seconds, raw * 1.2), rel=1e-5)
    assert high <= POLICY.max_seconds


def test_transient_failure_is_retried_after_the_backoff() -> None:
    assert decide(POLICY, 3, RuntimeError("reset"), lambda: 0.5) == Decision(Outcome.RETRY, delay=120)


def test_retry_after_is_honoured_but_capped() -> None:
    assert decide(POLICY, 1, RetryLater("429", after=600), lambda: 0.5).delay == 600
    assert decide(POLICY, 5, RetryLater("503", after=10), lambda: 0.5).delay == 480  # never sooner than backoff
    assert decide(POLICY, 1, RetryLater("503", after=10**9), lambda: 0.5).delay == POLICY.max_seconds


def test_permanent_failure_and_last_attempt_give_up() -> None:
    assert decide(POLICY, 1, PermanentError("410 Gone")).outcome is Outcome.DEAD
    last = decide(POLICY, 15, RuntimeError("timeout"))
    assert last.outcome is Outcome.DEAD and last.reason == "gave up after 15 attempts"
    assert decide(POLICY, 14, RuntimeError("timeout")).outcome is Outcome.RETRY


def test_huge_attempt_counts_do_not_overflow() -> None:
    assert backoff(POLICY, 10_000, lambda: 0.5) == POLICY.max_seconds


def test_the_default_policy_retries_for_about_two_days() -> None:
    """Issue 6: ~2 days in all, like Mastodon's 16 attempts over 50–75 hours."""
    total = sum(schedule(RetryPolicy(), rand=lambda: 0.5)) / 3600  # no jitter
    assert 45 <= total <= 55, total
