"""What becomes of a job run, as the operator sees it: the metrics of each outcome, and
the log record of a failure.

A failure is one line (`job.retry`, `job.dead`) when it is weather or a known refusal. A
bug (bridge/jobs/retry.py `is_bug`) is logged once with its traceback, on the `job.dead`
record, and counted in `bridge_job_bugs_total`; any other exception we do not expect (not
weather, not the database) carries its traceback on its first attempt, then goes on
being retried as weather: a new kind of failure is seen once, not hidden for two days.
"""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
from tortoise.exceptions import BaseORMException

from bridge.core import metrics
from bridge.jobs.kinds import SendWebmention
from bridge.jobs.retry import Decision, JobError, Outcome, Weather
from bridge.models import Job

log = logging.getLogger("bridge.queue")  # the name operators' log filters already use

# What the world does to a job: retried by the policy, told in one line.
EXPECTED: tuple[type[BaseException], ...] = (
    JobError, Weather, OSError, TimeoutError, BaseORMException, asyncpg.PostgresError, asyncpg.InterfaceError,
    sqlite3.Error,
)


def count(kind: str, outcome: str) -> None:
    """One job run ended: `done`, `retry` or `dead` (webmention jobs count as webmentions too)."""
    metrics.JOBS.inc(kind=kind, outcome=outcome)
    if kind == SendWebmention.KIND:  # sending to blogs (not the blog's own ping, "webmention.ping")
        metrics.WEBMENTIONS.inc(outcome=outcome)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def failed(job: Job, exc: Exception, decision: Decision, error: str, elapsed: float) -> None:
    """Count and log a failed run (the caller recorded it)."""
    ms = int(elapsed * 1000)
    if decision.outcome is Outcome.DEAD:
        count(job.kind, "dead")
        if decision.bug:
            metrics.BUGS.inc(kind=job.kind, error=type(exc).__name__)
        log.error("job.dead kind=%s id=%d attempt=%d ms=%d reason=%s error=%s", job.kind, job.id, job.attempts, ms,
                  decision.reason, error, exc_info=exc if decision.bug else None)
        return
    count(job.kind, "retry")
    surprise = not isinstance(exc, EXPECTED) and job.attempts <= 1
    log.log(logging.ERROR if surprise else logging.WARNING,
            "job.retry kind=%s id=%d attempt=%d ms=%d in_s=%.0f error=%s", job.kind, job.id, job.attempts, ms,
            decision.delay, error, exc_info=exc if surprise else None)
