"""The retry policy: a small pure function from (attempts, failure) to a decision.

Exponential backoff with jitter and a cap; a server's Retry-After is honoured
(never sooner than asked, never later than the cap); permanent failures and
running out of attempts end in a dead job that an operator can retry.
Modelled on the shape of Fedify's federation/retry.ts; the numbers are ours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class JobError(Exception):
    """Base of the errors a job handler raises to steer the retry policy."""


class PermanentError(JobError):
    """Retrying cannot help (404/410 inbox, a malformed payload…): the job dies now."""


class RetryLater(JobError):
    """A transient failure with a hint of when to come back (HTTP Retry-After)."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class Deferred(JobError):
    """Not a failure: the job cannot run now (its host is busy); run it again after
    `after` seconds without counting this attempt (see worker.Worker._run)."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class Outcome(StrEnum):
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0
    max_attempts: int = 18
    jitter: float = 0.2  # each delay is spread uniformly by ±20% so retries do not stampede


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    delay: float = 0.0  # seconds until the next attempt, for RETRY
    reason: str = ""


def backoff(policy: RetryPolicy, attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Delay before attempt `attempts + 1`, after `attempts` failures (attempts ≥ 1)."""
    exponent = min(max(attempts - 1, 0), 62)  # past 2**62 the cap has long applied
    raw = min(policy.max_seconds, policy.base_seconds * 2.0**exponent)
    spread = 1.0 + policy.jitter * (2.0 * rand() - 1.0)
    return min(policy.max_seconds, raw * spread)


def decide(
    policy: RetryPolicy,
    attempts: int,
    error: BaseException,
    rand: Callable[[], float] = random.random,
) -> Decision:
    """What to do with a job that failed on its `attempts`-th attempt."""
    if isinstance(error, PermanentError):
        return Decision(Outcome.DEAD, reason="permanent failure")
    if attempts >= policy.max_attempts:
        return Decision(Outcome.DEAD, reason=f"gave up after {attempts} attempts")
    delay = backoff(policy, attempts, rand)
    if isinstance(error, RetryLater):
        delay = min(policy.max_seconds, max(delay, error.after))
    return Decision(Outcome.RETRY, delay=delay)


def schedule(policy: RetryPolicy, rand: Callable[[], float] = random.random) -> list[float]:
    """Every delay a job that always fails transiently would wait, in order."""
    return [backoff(policy, attempt, rand) for attempt in range(1, policy.max_attempts)]
