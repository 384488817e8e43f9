"""The worker: claims ready jobs with a lease and runs them (jobs: bridge/jobs/store.py).

Claiming is one statement (bridge/jobs/sql.py holds these hot statements):
- PostgreSQL: ``WITH picked AS (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … RETURNING``;
- SQLite (one writer at a time): the same ``UPDATE … RETURNING``, which only one
  process can win.
A worker renews the leases of the jobs it is running, and on shutdown lets
them finish within a grace period or gives them back.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F

from bridge.config import QueueConfig
from bridge.core import metrics
from bridge.core.clock import Clock, utcnow
from bridge.db import in_own_task
from bridge.jobs import outcomes
from bridge.jobs.kinds import LIGHT_KINDS, Handler
from bridge.jobs.retry import Deferred, Outcome, RetryPolicy, UnknownKind, decide
from bridge.jobs.sql import claim_jobs, record_done, settle_and_claim
from bridge.jobs.store import JobContext, listen_for_work
from bridge.models import Job, JobState, RevokedSession

log = logging.getLogger("bridge.queue")  # the name operators' log filters already use

_MAX_ERROR_CHARS = 2000
READY_SECONDS = 2.0  # a job claimed ahead waits this long for a slot, then goes back


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Worker:
    """Claims and runs jobs; `run()` until `stop()`, or `run_once()` in tests."""

    settings: QueueConfig
    handlers: Mapping[str, Handler]
    context: JobContext  # the app's: its config, HTTP client and state
    owner: str = field(default_factory=worker_name)
    clock: Clock = utcnow
    _inflight: dict[int, asyncio.Task[None]] = field(default_factory=dict, init=False)
    # Claimed ahead (at most one claim batch), started the moment a slot frees: a busy worker
    # does not leave its slots empty while its next claim travels to the database and back.
    _ready: collections.deque[tuple[float, Job]] = field(default_factory=collections.deque, init=False)
    _progressed: bool = field(default=False, init=False)  # a job finished since the last claim
    # Jobs whose handler is done, waiting for their group commit: they no longer hold a slot.
    _settling: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _stopping: bool = field(default=False, init=False)
    _last_prune: float = field(default=float("-inf"), init=False)
    # Group commit of finished jobs: (job id, waiter) pairs recorded by one UPDATE a round,
    # by `run()`'s loop with its next claim while it runs, else by a recorder task.
    _done: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list, init=False)
    _looping: bool = field(default=False, init=False)
    _recording: bool = field(default=False, init=False)
    _recorder: asyncio.Task[None] | None = field(default=None, init=False)  # held: the loop keeps only weak refs
    # Heavy kinds (kinds.py `HEAVY`: pages parsed, fan-outs) hold one of these too while they run.
    _heavy: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._heavy = asyncio.Semaphore(self.settings.heavy_concurrency)

    @property
    def _claim_batch(self) -> int:
        return max(1, self.settings.concurrency // 4)

    @property
    def policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(s.retry_base_seconds, s.retry_max_seconds, s.max_attempts)

    # -- claiming ---------------------------------------------------------
    async def claim(self, limit: int) -> list[Job]:
        """Lease up to `limit` ready jobs to this worker (one statement: bridge/jobs/sql.py)."""
        if limit <= 0:
            return []
        now = self.clock()
        return await claim_jobs(self.owner, now, now + timedelta(seconds=self.settings.lease_seconds), limit)

    # -- running ----------------------------------------------------------
    async def run_once(self, limit: int | None = None) -> int:
        """Claim what is ready now, run it to the end, return how many jobs ran."""
        jobs = await self.claim(limit or self.settings.concurrency)
        await asyncio.gather(*(self._execute(job) for job in jobs))
        return len(jobs)

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """`run_once` until nothing is ready (jobs retried later are not waited for)."""
        total = 0
        for _ in range(max_rounds):
            ran = await self.run_once()
            if not ran:
                break
            total += ran
        return total

    async def run(self) -> None:
        """Work until `stop()` is called; survives a database that comes and goes."""
        listen_for_work(self._wakeup)
        renewer = asyncio.create_task(self._renew_leases(), name="lease-renewer")
        log.info("worker.start owner=%s concurrency=%d", self.owner, self.settings.concurrency)
        failures = 0
        self._looping = True
        try:
            while not self._stopping:
                self._wakeup.clear()
                self._give_back_stale()
                # Claim in batches while busy (one round trip per few jobs, not per job), and
                # one batch ahead of the free slots while jobs finish (not while all hang).
                busy = len(self._inflight) + len(self._ready)
                want = self.settings.concurrency - busy + (self._claim_batch if self._progressed else 0)
                if want < self._claim_batch and busy:
                    want = 0
                if want:
                    self._progressed = False
                done, self._done = self._done, []
                claimed: list[Job] = []
                if want or done:
                    try:
                        # The jobs finished meanwhile are recorded with the claim: one round trip.
                        claimed = await in_own_task(self._settle_and_claim(done, want))  # see bridge/db.py
                        await self._maybe_prune()
                        failures = 0
                    except Exception as exc:  # a database restart must not end the worker
                        _fail_all(done, exc)  # unrecorded: their leases expire and they run again
                        failures += 1
                        log.warning("worker.claim_failed owner=%s failures=%d error=%s", self.owner, failures, outcomes.one_line(exc))
                        await asyncio.sleep(min(30.0, self.settings.poll_seconds * 2**failures))
                now = time.monotonic()
                self._ready.extend((now, job) for job in claimed)
                self._start_ready()
                if (claimed and len(claimed) == want) or self._done:
                    await asyncio.sleep(0)
                    continue
                if self._stopping:
                    break
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.settings.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            self._looping = False
            self._start_recorder()  # what finished during the last round, and while draining
            listen_for_work(self._wakeup, listening=False)
            await self._drain()
            renewer.cancel()
            log.info("worker.stop owner=%s", self.owner)

    def stop(self) -> None:
        """Stop claiming; `run()` then drains in-flight jobs and returns."""
        self._stopping = True
        self._wakeup.set()

    def _start_ready(self) -> None:
        """Start claimed jobs while there are free slots."""
        while self._ready and len(self._inflight) < self.settings.concurrency and not self._stopping:
            _claimed_at, job = self._ready.popleft()
            task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
            self._inflight[job.id] = task
            task.add_done_callback(functools.partial(self._finished, job.id))

    def _give_back_stale(self) -> None:
        """Jobs claimed ahead that found no slot for a while (every slot held by slow jobs)
        go back to the queue, for a worker with free slots."""
        stale: list[Job] = []
        while self._ready and (self._stopping or time.monotonic() - self._ready[0][0] > READY_SECONDS):
            stale.append(self._ready.popleft()[1])
        for job in stale:
            task = asyncio.create_task(self._release(job), name=f"release-{job.id}")
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)

    def _finished(self, job_id: int, _task: asyncio.Task[None]) -> None:
        if self._inflight.pop(job_id, None) is not None:
            self._progressed = True
        self._start_ready()
        self._wakeup.set()  # a slot is free

    def _free_slot(self, job_id: int) -> None:
        """The job's work is done, only its record is pending: its slot goes to the next job
        (a commit's latency is not spent holding a delivery back)."""
        task = self._inflight.pop(job_id, None)
        if task is not None:
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)
            self._progressed = True
            self._start_ready()
            self._wakeup.set()

    async def _drain(self) -> None:
        """Let in-flight jobs finish within the grace period, then give the rest back."""
        self._give_back_stale()  # those claimed ahead: at once (we are stopping)
        if not self._inflight and not self._settling:
            return
        tasks = [*self._inflight.values(), *self._settling]
        log.info("worker.draining owner=%s jobs=%d grace_s=%s", self.owner, len(tasks), self.settings.shutdown_grace_seconds)
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _execute(self, job: Job) -> None:
        try:
            await self._run(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Recording the outcome failed (the database went away): the lease
            # expires and the job runs again, so nothing is lost.
            log.error("job.unrecorded kind=%s id=%d attempt=%d error=%s", job.kind, job.id, job.attempts, outcomes.one_line(exc))

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        if job.attempts > self.settings.max_attempts:
            # Only reached when earlier workers died holding it: a job that kills workers.
            await self._settle(job, JobState.DEAD, error=f"gave up after {job.attempts - 1} attempts whose worker died or hung")
            log.error("job.dead kind=%s id=%d attempt=%d reason=lease expired too often", job.kind, job.id, job.attempts)
            return
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise UnknownKind(job.kind)
            if job.kind in LIGHT_KINDS:
                await self._call(handler, job)
            else:
                async with self._heavy:  # waiting holds the job's slot, not its timeout
                    await self._call(handler, job)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(job))
            log.info("job.released kind=%s id=%d attempt=%d", job.kind, job.id, job.attempts)
            raise
        except Deferred as exc:
            # Not a failure (e.g. its host has all its slots busy): back later, attempt not counted.
            await self._release(job, after=exc.after)
            metrics.JOBS.inc(kind=job.kind, outcome="deferred")
        except Exception as exc:
            await self._failed(job, exc, time.monotonic() - started)
        else:
            self._free_slot(job.id)
            await self._record_done(job)
            outcomes.count(job.kind, "done")
            log.info(
                "job.done kind=%s id=%d attempt=%d ms=%d",
                job.kind, job.id, job.attempts, (time.monotonic() - started) * 1000,
            )

    async def _call(self, handler: Handler, job: Job) -> None:
        async with asyncio.timeout(self.settings.job_timeout_seconds):  # no extra task, unlike wait_for
            await handler(job, self.context)

    async def _failed(self, job: Job, exc: Exception, elapsed: float) -> None:
        error = outcomes.one_line(exc) if not isinstance(exc, TimeoutError) else f"timed out after {elapsed:.0f}s"
        decision = decide(self.policy, job.attempts, exc)
        if decision.outcome is Outcome.DEAD:
            await self._settle(job, JobState.DEAD, error=f"{error} ({decision.reason})")
        else:
            await self._settle(job, JobState.QUEUED, error=error,
                               run_after=self.clock() + timedelta(seconds=decision.delay))
        outcomes.failed(job, exc, decision, error, elapsed)

    async def _settle_and_claim(self, done: list[tuple[int, asyncio.Future[None]]], limit: int) -> list[Job]:
        now = self.clock()
        ids = [job_id for job_id, _waiter in done]
        recorded, jobs = await settle_and_claim(
            self.owner, ids, now, now + timedelta(seconds=self.settings.lease_seconds), limit)
        self._recorded(done, recorded)
        return jobs

    async def _record_done(self, job: Job) -> None:
        """Mark the job done, together with the others finishing meanwhile (one UPDATE for
        all): a fan-out finishes hundreds of deliveries a second. Returns once recorded."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._done.append((job.id, waiter))
        if self._looping:
            self._wakeup.set()  # `run()` records it with its next claim
        else:
            self._start_recorder()
        await waiter

    def _start_recorder(self) -> None:
        if self._done and not self._recording:
            self._recording = True
            self._recorder = asyncio.create_task(self._record_done_rounds())

    def _recorded(self, batch: list[tuple[int, asyncio.Future[None]]], updated: int) -> None:
        if updated < len(batch):
            log.warning("job.lease_lost owner=%s jobs=%d recorded=%d", self.owner, len(batch), updated)
        for _job_id, waiter in batch:
            if not waiter.done():
                waiter.set_result(None)

    async def _record_done_rounds(self) -> None:
        try:
            while self._done:
                batch, self._done = self._done, []
                ids = [job_id for job_id, _waiter in batch]
                try:
                    # Guarded by owner and state: a job whose lease another worker took is left to it.
                    updated = await record_done(self.owner, ids, self.clock())
                except Exception as exc:
                    _fail_all(batch, exc)
                    continue
                self._recorded(batch, updated)
        finally:
            self._recording = False

    async def _settle(self, job: Job, state: JobState, *, error: str | None = None, run_after: datetime | None = None) -> None:
        values: dict[str, Any] = {"state": state, "lease_owner": None, "lease_expires": None}
        if error is not None:
            values["last_error"] = error[:_MAX_ERROR_CHARS]
        if run_after is not None:
            values["run_after"] = run_after
        if state in (JobState.DONE, JobState.DEAD):
            values["finished_at"] = self.clock()
        await self._update_if_still_ours(job, values)

    async def _release(self, job: Job, *, after: float = 0.0) -> None:
        """Give a job back unfinished: it did not fail, so the attempt does not count."""
        await self._update_if_still_ours(
            job,
            {
                "state": JobState.QUEUED,
                "lease_owner": None,
                "lease_expires": None,
                "attempts": F("attempts") - 1,
                "run_after": self.clock() + timedelta(seconds=after),
            },
        )

    async def _update_if_still_ours(self, job: Job, values: dict[str, Any]) -> None:
        updated = await Job.filter(
            id=job.id, state=JobState.RUNNING, lease_owner=self.owner, attempts=job.attempts
        ).update(**values)
        if not updated:
            # Our lease expired and another worker took the job: its outcome wins.
            log.warning("job.lease_lost kind=%s id=%d attempt=%d owner=%s", job.kind, job.id, job.attempts, self.owner)

    async def _renew_leases(self) -> None:
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = [*self._inflight, *(job.id for _at, job in self._ready)]
            if not held:
                continue
            try:
                await Job.filter(id__in=held, lease_owner=self.owner, state=JobState.RUNNING).update(
                    lease_expires=self.clock() + timedelta(seconds=self.settings.lease_seconds)
                )
            except Exception as exc:
                log.warning("worker.renew_failed owner=%s error=%s", self.owner, outcomes.one_line(exc))

    async def _maybe_prune(self) -> None:
        """Delete finished jobs older than `keep_done_days`, at most once an hour."""
        if time.monotonic() - self._last_prune < 3600:
            return
        self._last_prune = time.monotonic()
        cutoff = self.clock() - timedelta(days=self.settings.keep_done_days)
        deleted = await Job.filter(state=JobState.DONE, finished_at__lt=cutoff).delete()
        revocations = await RevokedSession.filter(expires_at__lte=self.clock()).delete()
        if deleted or revocations:
            log.info("queue.pruned done_jobs=%d revoked_sessions=%d", deleted, revocations)


def _fail_all(waiters: list[tuple[int, asyncio.Future[None]]], exc: BaseException) -> None:
    for _job_id, waiter in waiters:
        if not waiter.done():
            waiter.set_exception(exc)
