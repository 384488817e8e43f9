"""The durable job queue on the test database (SQLite or PostgreSQL), in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from bridge.config import Config, QueueConfig, parse_config
from bridge.jobs.kinds import PluginJob
from bridge.jobs.retry import Deferred, PermanentError, RetryLater
from bridge.jobs.store import JobContext, enqueue, enqueue_many, queue_depth, retry_dead, utcnow
from bridge.jobs.worker import Worker
from bridge.models import Job, JobState, RevokedSession

pytestmark = pytest.mark.usefixtures("database")
SETTINGS = QueueConfig(concurrency=4, lease_seconds=30, max_attempts=3, retry_base_seconds=30, poll_seconds=0.05)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A handler that records each run, and fails as told."""

    def __init__(self, error: Exception | None = None, sleep: float = 0.0) -> None:
        self.runs: list[int] = []
        self.error = error
        self.sleep = sleep

    async def __call__(self, job: Job, ctx: JobContext) -> None:
        self.runs.append(job.id)
        if self.sleep:
            await asyncio.sleep(self.sleep)
        if self.error is not None:
            raise self.error


# What the handlers here are given: the queue itself reads its settings, not the context's.
CONTEXT = JobContext(parse_config({"server": {"base_url": "https://bridge.example"},
                                   "blogs": [{"name": "blog", "url": "https://blog.example/"}]},
                                  path=Path("config.toml"), env={}))


def worker(handlers: dict, clock: Clock | None = None, owner: str = "w1", **settings: float) -> Worker:
    return Worker(replace(SETTINGS, **settings), handlers, CONTEXT, owner=owner, clock=clock or Clock())


async def test_job_runs_once_and_is_recorded_done() -> None:
    job = await enqueue(PluginJob("ping", {"n": 1}))
    handler = Recorder()
    assert await worker({"ping": handler}).run_once() == 1
    assert await worker({"ping": handler}).run_once() == 0
    assert handler.runs == [job.id]
    await job.refresh_from_db()
    assert (job.state, job.attempts, job.lease_owner, job.lease_expires) == (JobState.DONE, 1, None, None)
    assert job.finished_at is not None and job.payload == {"n": 1}


async def test_enqueue_commits_and_rolls_back_with_the_state_change(config: Config) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await enqueue(PluginJob("ping", {"n": 1}), using_db=conn)
            raise RuntimeError("the state change failed")
    assert await Job.all().count() == 0
    async with in_transaction() as conn:
        await enqueue(PluginJob("ping", {"n": 2}), using_db=conn)
    assert await Job.all().values_list("payload", flat=True) == [{"n": 2}]


async def test_dedupe_key_enqueues_once() -> None:
    first = await enqueue(PluginJob("deliver", {"inbox": "a"}), dedupe_key="deliver:1:a")
    async with in_transaction() as conn:  # inside a transaction too: no error aborts it
        again = await enqueue(PluginJob("deliver", {"inbox": "a"}), dedupe_key="deliver:1:a", using_db=conn)
        other = await enqueue(PluginJob("deliver", {"inbox": "b"}), dedupe_key="deliver:1:b", using_db=conn)
    assert again.id == first.id and other.id != first.id
    assert await Job.all().count() == 2


async def test_transient_failure_is_retried_on_the_policy_schedule() -> None:
    job = await enqueue(PluginJob("flaky", {}))
    clock = Clock()
    handler = Recorder(error=ConnectionResetError("connection reset by peer"))
    w = worker({"flaky": handler}, clock)
    await w.run_once()
    await job.refresh_from_db()
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert job.last_error == "ConnectionResetError: connection reset by peer"
    delay = (job.run_after - clock.now).total_seconds()
    assert 30 * 0.8 <= delay <= 30 * 1.2
    assert await w.run_once() == 0  # not before its time
    clock.advance(delay + 0.001)
    await w.run_once()
    await job.refresh_from_db()
    delay = (job.run_after - clock.now).total_seconds()
    assert job.attempts == 2 and 60 * 0.8 <= delay <= 60 * 1.2
    clock.advance(delay + 0.001)
    await w.run_once()
    await job.refresh_from_db()
    assert job.state is JobState.DEAD and job.attempts == 3
    assert job.last_error == "ConnectionResetError: connection reset by peer (gave up after 3 attempts)"
    assert len(handler.runs) == 3


async def test_retry_after_hint_is_honoured() -> None:
    job = await enqueue(PluginJob("limited", {}))
    clock = Clock()
    await worker({"limited": Recorder(error=RetryLater("429 Too Many Requests", after=3600))}, clock).run_once()
    await job.refresh_from_db()
    assert (job.run_after - clock.now).total_seconds() == pytest.approx(3600)


async def test_permanent_failure_dies_at_once_and_can_be_retried() -> None:
    job = await enqueue(PluginJob("deliver", {}))
    failing = Recorder(error=PermanentError("410 Gone from https://gone.example/inbox"))
    await worker({"deliver": failing}).run_once()
    await job.refresh_from_db()
    assert job.state is JobState.DEAD and job.attempts == 1
    assert job.last_error == "PermanentError: 410 Gone from https://gone.example/inbox (permanent failure)"
    assert await queue_depth() == {"queued": 0, "running": 0, "done": 0, "dead": 1}
    assert await retry_dead([job.id]) == 1
    ok = Recorder()
    await worker({"deliver": ok}).run_once()
    await job.refresh_from_db()
    assert job.state is JobState.DONE and ok.runs == [job.id] and job.attempts == 1


async def test_unknown_kind_is_retried_not_lost() -> None:
    job = await enqueue(PluginJob("from.a.newer.version", {}))
    await worker({}).run_once()
    await job.refresh_from_db()
    assert job.state is JobState.QUEUED
    assert "no handler for job kind 'from.a.newer.version'" in (job.last_error or "")


async def test_job_that_runs_too_long_times_out_and_is_retried() -> None:
    job = await enqueue(PluginJob("slow", {}))
    await worker({"slow": Recorder(sleep=5)}, job_timeout_seconds=0.1).run_once()
    await job.refresh_from_db()
    assert job.state is JobState.QUEUED and job.last_error == "timed out after 0s"


async def test_expired_lease_lets_another_worker_take_the_job() -> None:
    job = await enqueue(PluginJob("ping", {}))
    clock = Clock()
    first = worker({"ping": Recorder()}, clock, owner="dead-worker")
    (claimed,) = await first.claim(10)
    assert claimed.lease_owner == "dead-worker" and claimed.attempts == 1
    second = worker({"ping": Recorder()}, clock, owner="w2")
    assert await second.claim(10) == []  # leased: nobody else may run it
    clock.advance(SETTINGS.lease_seconds + 1)
    (taken,) = await second.claim(10)
    assert taken.lease_owner == "w2" and taken.attempts == 2
    # The first worker comes back from the dead: its late outcome must not win.
    await first._settle(claimed, JobState.DONE)
    await job.refresh_from_db()
    assert job.state is JobState.RUNNING and job.lease_owner == "w2"
    await second._execute(taken)
    await job.refresh_from_db()
    assert job.state is JobState.DONE


async def test_job_that_keeps_killing_workers_ends_dead_without_running() -> None:
    job = await enqueue(PluginJob("poison", {}))
    clock = Clock()
    handler = Recorder()
    for i in range(SETTINGS.max_attempts):  # each claimant "dies" holding the lease
        assert len(await worker({}, clock, owner=f"w{i}").claim(1)) == 1
        clock.advance(SETTINGS.lease_seconds + 1)
    await worker({"poison": handler}, clock).run_once()
    await job.refresh_from_db()
    assert job.state is JobState.DEAD and handler.runs == []
    assert "whose worker died or hung" in (job.last_error or "")


async def test_running_worker_renews_its_leases() -> None:
    job = await enqueue(PluginJob("long", {}))
    clock = Clock()
    gate = asyncio.Event()
    runs: list[int] = []

    async def long(job: Job, ctx: JobContext) -> None:
        runs.append(job.id)
        await gate.wait()

    # The renewer wakes every lease_seconds / 3 of real time and extends the lease from the
    # worker's clock: a short lease makes it wake often; the test clock says when leases end.
    w = worker({"long": long}, clock, owner="runner", lease_seconds=0.3)
    task = asyncio.create_task(w.run())
    await until(lambda: runs == [job.id])
    for _ in range(5):  # 1 s, well past the first lease, in steps shorter than a lease
        clock.advance(0.2)
        # Renewed from the new time (not yet: it ends 0.1 s from now; renewed: 0.3 s).
        await until(lambda: _lease_ends_after(job.id, clock.now + timedelta(seconds=0.2)))
    thief = worker({"long": Recorder()}, clock, owner="thief", lease_seconds=0.3)
    assert await thief.claim(1) == []
    gate.set()
    w.stop()
    await task
    await job.refresh_from_db()
    assert job.state is JobState.DONE and runs == [job.id] and job.attempts == 1


async def _lease_ends_after(job_id: int, moment: datetime) -> bool:
    lease = (await Job.get(id=job_id)).lease_expires
    return lease is not None and lease > moment


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait for something another task does (real concurrency: polled, not slept on)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "waited in vain"
        await asyncio.sleep(0.02)


async def test_stop_gives_unfinished_jobs_back_without_counting_an_attempt() -> None:
    job = await enqueue(PluginJob("stuck", {}))
    quick = await enqueue(PluginJob("quick", {}))
    handlers = {"stuck": Recorder(sleep=60), "quick": Recorder(sleep=0.05)}
    w = worker(handlers, utcnow, shutdown_grace_seconds=0.5)
    task = asyncio.create_task(w.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        if await Job.filter(state=JobState.RUNNING).count() == 2:
            break
    w.stop()
    await asyncio.wait_for(task, 5)
    await job.refresh_from_db()
    await quick.refresh_from_db()
    assert quick.state is JobState.DONE  # finished within the grace period
    assert (job.state, job.attempts, job.lease_owner) == (JobState.QUEUED, 0, None)


async def test_running_worker_picks_up_new_jobs_promptly() -> None:
    handler = Recorder()
    w = worker({"ping": handler}, utcnow, poll_seconds=30)  # only the wake-up can make this quick
    task = asyncio.create_task(w.run())
    await asyncio.sleep(0.05)
    job = await enqueue(PluginJob("ping", {}))
    for _ in range(100):
        if handler.runs:
            break
        await asyncio.sleep(0.02)
    w.stop()
    await task
    assert handler.runs == [job.id]


async def test_finished_jobs_are_pruned_after_their_keep_time() -> None:
    old, recent = await enqueue(PluginJob("ping", {})), await enqueue(PluginJob("ping", {}))
    clock = Clock()
    w = worker({"ping": Recorder()}, clock, keep_done_days=7)
    await w.run_once()
    await Job.filter(id=old.id).update(finished_at=clock.now - timedelta(days=8))
    # Dashboard logouts are kept only while the session could still be used.
    await RevokedSession.create(sid="expired", expires_at=clock.now - timedelta(seconds=1))
    await RevokedSession.create(sid="current", expires_at=clock.now + timedelta(hours=1))
    await w._maybe_prune()
    assert await Job.all().values_list("id", flat=True) == [recent.id]
    assert await RevokedSession.all().values_list("sid", flat=True) == ["current"]


async def test_a_deferred_job_comes_back_later_without_spending_an_attempt() -> None:
    job = await enqueue(PluginJob("busy", {}))
    clock = Clock()
    w = worker({"busy": Recorder(Deferred("host busy", after=5))}, clock)
    for _ in range(SETTINGS.max_attempts + 2):  # more deferrals than attempts: never dead
        assert await w.run_once() == 1
        await job.refresh_from_db()
        assert (job.state, job.attempts) == (JobState.QUEUED, 0)
        assert job.run_after == clock.now + timedelta(seconds=5)
        assert await w.run_once() == 0  # not before its time
        clock.advance(5)


async def test_enqueue_many_skips_keys_already_there() -> None:
    await enqueue_many([(PluginJob("k", {"n": 1}), "a"), (PluginJob("k", {"n": 2}), "b")])
    await enqueue_many([(PluginJob("k", {"n": 3}), "b"), (PluginJob("k", {"n": 4}), "c")])
    assert sorted(await Job.all().values_list("payload", flat=True), key=lambda p: p["n"]) == [{"n": 1}, {"n": 2}, {"n": 4}]


async def test_a_claim_leases_at_most_its_limit_oldest_first_and_others_get_the_rest() -> None:
    # PostgreSQL may run an `IN (SELECT … LIMIT)` more than once: the claim must not lease more.
    jobs = [await enqueue(PluginJob("batch", {"n": n})) for n in range(7)]
    clock = Clock()
    first = await worker({}, clock, owner="w1").claim(3)
    assert [job.id for job in first] == [job.id for job in jobs[:3]]
    assert all(job.lease_owner == "w1" and job.attempts == 1 and job.payload["n"] == n for n, job in enumerate(first))
    second = await worker({}, clock, owner="w2").claim(10)
    assert [job.id for job in second] == [job.id for job in jobs[3:]]
    assert await Job.filter(state=JobState.RUNNING, lease_owner="w1").count() == 3
    assert await Job.filter(state=JobState.RUNNING, lease_owner="w2").count() == 4
    assert await Job.filter(state=JobState.QUEUED).count() == 0


async def test_settle_and_claim_records_done_and_leases_in_one_call() -> None:
    from bridge.jobs.sql import settle_and_claim

    first = [await enqueue(PluginJob("ping", {"n": n})) for n in range(3)]
    clock = Clock()
    w = worker({}, clock, owner="w1")
    claimed = await w.claim(3)
    later = [await enqueue(PluginJob("ping", {"n": n})) for n in range(3, 8)]
    clock.advance(1)  # they are due
    other = worker({}, clock, owner="w2")
    (stolen,) = await other.claim(1)  # another worker's running job: not ours to record
    recorded, jobs = await settle_and_claim(
        "w1", [job.id for job in claimed] + [stolen.id], clock.now, clock.now + timedelta(seconds=30), 2)
    assert recorded == 3
    assert [job.id for job in jobs] == [later[1].id, later[2].id]  # at most the limit, oldest first
    assert [job.payload for job in jobs] == [{"n": 4}, {"n": 5}] and {job.attempts for job in jobs} == {1}
    states = dict(await Job.all().values_list("id", "state"))
    assert [states[job.id] for job in first] == [JobState.DONE] * 3
    assert states[stolen.id] is JobState.RUNNING and states[later[3].id] is JobState.QUEUED
    # Only recording, or only claiming.
    assert await settle_and_claim("w1", [job.id for job in jobs], clock.now, clock.now, 0) == (2, [])
    recorded, jobs = await settle_and_claim("w1", [], clock.now, clock.now + timedelta(seconds=30), 10)
    assert recorded == 0 and [job.id for job in jobs] == [later[3].id, later[4].id]


async def test_a_busy_worker_claims_one_batch_ahead_and_gives_back_what_waits_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jobs claimed ahead of free slots start the moment a slot frees; when every slot is
    held by slow jobs they go back to the queue (attempt not counted) for another worker."""
    import bridge.jobs.worker as worker_module

    monkeypatch.setattr(worker_module, "READY_SECONDS", 0.3)
    quick = await enqueue(PluginJob("quick", {}))
    slow = [await enqueue(PluginJob("slow", {})) for _ in range(2)]
    waiting = [await enqueue(PluginJob("later", {})) for _ in range(3)]
    gate = asyncio.Event()

    async def hold(job: Job, ctx: JobContext) -> None:
        await gate.wait()

    later = Recorder()
    # Two slots, claims of one: the quick job's end makes the worker claim one job ahead.
    w = worker({"quick": Recorder(), "slow": hold, "later": later}, utcnow, concurrency=2, shutdown_grace_seconds=5)
    assert w._claim_batch == 1 and worker_module.READY_SECONDS == 0.3
    task = asyncio.create_task(w.run())
    for _ in range(200):
        await asyncio.sleep(0.02)
        states = dict(await Job.all().values_list("id", "state"))
        if states[slow[1].id] is JobState.RUNNING and states[waiting[0].id] is JobState.RUNNING:
            break
    assert states[quick.id] is JobState.DONE
    assert states[waiting[0].id] is JobState.RUNNING and later.runs == []  # claimed ahead: leased, not started
    await asyncio.sleep(0.8)  # past READY_SECONDS with both slots held
    job = await Job.get(id=waiting[0].id)
    assert (job.state, job.attempts, job.lease_owner, later.runs) == (JobState.QUEUED, 0, None, [])
    gate.set()  # the slots free: everything runs, once each
    for _ in range(200):
        await asyncio.sleep(0.02)
        if await Job.filter(state=JobState.DONE).count() == 6:
            break
    w.stop()
    await task
    assert sorted(later.runs) == [job.id for job in waiting]
    assert set(await Job.all().values_list("attempts", flat=True)) == {1}


async def test_stopping_gives_back_the_jobs_claimed_ahead_at_once() -> None:
    quick = await enqueue(PluginJob("quick", {}))
    stuck = await enqueue(PluginJob("stuck", {}))
    ahead = await enqueue(PluginJob("later", {}))
    gate = asyncio.Event()

    async def hold(job: Job, ctx: JobContext) -> None:
        await gate.wait()

    w = worker({"quick": Recorder(), "stuck": hold, "later": Recorder()}, utcnow, concurrency=1,
               shutdown_grace_seconds=0.3)
    task = asyncio.create_task(w.run())
    for _ in range(200):
        await asyncio.sleep(0.02)
        if (await Job.get(id=ahead.id)).state is JobState.RUNNING:
            break
    assert (await Job.get(id=quick.id)).state is JobState.DONE
    assert (await Job.get(id=stuck.id)).state is JobState.RUNNING
    w.stop()
    await task
    for job in (stuck, ahead):
        await job.refresh_from_db()
        assert (job.state, job.attempts, job.lease_owner) == (JobState.QUEUED, 0, None)


async def test_heavy_kinds_run_a_few_at_a_time_while_deliveries_fill_the_other_slots() -> None:
    """Issue 19: many deliveries at once (they wait on the network), no more jobs that parse
    pages or fan a post out than `queue.heavy_concurrency`; plugins' kinds count as heavy."""
    running = {"heavy": 0, "light": 0}
    most = {"heavy": 0, "light": 0}

    def counting(group: str) -> Callable[[Job, JobContext], Awaitable[None]]:
        async def handle(job: Job, ctx: JobContext) -> None:
            running[group] += 1
            most[group] = max(most[group], running[group])
            await asyncio.sleep(0.05)
            running[group] -= 1
        return handle

    for n in range(12):
        await enqueue(PluginJob("blog.poll", {"n": n}))
        await enqueue(PluginJob("plugin.kind", {"n": n}))
        await enqueue(PluginJob("deliver", {"n": n}))
        await enqueue(PluginJob("inbox.process", {"n": n}))
    handlers = {"blog.poll": counting("heavy"), "plugin.kind": counting("heavy"),
                "deliver": counting("light"), "inbox.process": counting("light")}
    assert await worker(handlers, concurrency=48, heavy_concurrency=3).run_once() == 48
    assert most == {"heavy": 3, "light": 24}
    assert await Job.filter(state=JobState.DONE).count() == 48
