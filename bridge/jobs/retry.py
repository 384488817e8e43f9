"""The retry policy: a small pure function from (attempts, failure) to a decision.

Weather and bugs are told apart (style.md: a timeout or a 503 is retried; a TypeError is a
bug, logged with its traceback once and parked for a human, never retried for days):
- weather (the network, a remote server, the database): tried again after a few seconds
  (most failures are a moment's: a 503 during a restart, a dropped connection), then
  backing off, doubling each time with jitter, up to a cap: about two days of attempts in
  all for a server that stays down; running out of attempts ends in a dead job;
- a server's `Retry-After` (RetryLater) is honoured as given, neither sooner nor later
  (within [`min_retry_after`, the cap]), during the first `as_given_attempts` attempts;
  after those, never sooner than the backoff: a server that keeps saying "in 2 s" cannot
  use up two days of attempts in a minute;
- a bug (`is_bug`: TypeError, KeyError, ValueError, OverflowError, AttributeError…): the
  job is dead at once, its traceback in the log, until an operator retries it after a fix;
- a permanent failure (a 404/410 inbox, a payload that does not fit its kind): dead at once.
Modelled on the shape of Fedify's federation/retry.ts and Takahē's stator; the numbers are ours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class JobError(Exception):
    """Base of the errors a job handler raises to steer the retry policy."""


class Weather(Exception):
    """The world outside failed (a network error, a remote server's refusal): the job is
    retried by the policy. Base of bridge/net/fetch.py `FetchError` and its kin."""


class PermanentError(JobError):
    """Retrying cannot help (404/410 inbox, a malformed payload…): the job dies now."""


class RetryLater(JobError):
    """A transient failure with a hint of when to come back (HTTP Retry-After)."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class UnknownKind(JobError):
    """No handler for the job's kind in this process. Retried like weather, on purpose: during
    a rolling upgrade a newer process may know the kind."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"no handler for job kind {kind!r} in this process")


class Deferred(JobError):
    """Not a failure: the job cannot run now (its host is busy); run it again after
    `after` seconds without counting this attempt (see worker.Worker._run)."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class Outcome(StrEnum):
    RETRY = "retry"
    DEAD = "dead"


# Exceptions that are bugs in our code, not weather: retrying cannot mend them.
BUG_TYPES: tuple[type[BaseException], ...] = (
    TypeError, KeyError, IndexError, ValueError, ArithmeticError, AttributeError, AssertionError, NameError,
    NotImplementedError, RecursionError,
)


def is_bug(error: BaseException) -> bool:
    """Whether `error` says our code is wrong (OverflowError on a stranger's id, a KeyError…)."""
    return isinstance(error, BUG_TYPES) and not isinstance(error, (JobError, Weather))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # 5 s, 10 s, 20 s … 20,480 s (5.7 h), then the 6 h cap: 21 attempts span ~53 hours.
    base_seconds: float = 5.0
    max_seconds: float = 6 * 3600.0
    max_attempts: int = 21
    jitter: float = 0.2  # each delay is spread uniformly by ±20% so retries do not stampede
    min_retry_after: float = 1.0  # a Retry-After of 0 (or a date in the past) waits this long
    as_given_attempts: int = 5  # Retry-After taken as given up to this attempt, then at least the backoff


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    delay: float = 0.0  # seconds until the next attempt, for RETRY
    reason: str = ""
    bug: bool = False  # dead because the code is wrong: its traceback belongs in the log


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
    if is_bug(error):
        return Decision(Outcome.DEAD, reason=f"a bug ({type(error).__name__}): not retried; retry it after a fix",
                        bug=True)
    if attempts >= policy.max_attempts:
        return Decision(Outcome.DEAD, reason=f"gave up after {attempts} attempts")
    delay = backoff(policy, attempts, rand)
    if isinstance(error, RetryLater):
        asked = min(policy.max_seconds, max(policy.min_retry_after, error.after))
        delay = asked if attempts <= policy.as_given_attempts else max(asked, delay)
    return Decision(Outcome.RETRY, delay=delay)


def schedule(policy: RetryPolicy, rand: Callable[[], float] = random.random) -> list[float]:
    """Every delay a job that always fails transiently would wait, in order."""
    return [backoff(policy, attempt, rand) for attempt in range(1, policy.max_attempts)]
