"""Several `bridge worker` processes on one database share the queue: every job
runs exactly once while the workers live, and at least once when one is killed."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.jobs.store import utcnow
from bridge.models import Job, JobState

from .procs import BridgeProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]


async def enqueue_probes(count: int, log: Path, seconds: float, *, staggered: bool = False) -> list[int]:
    """`staggered`: durations from `seconds` to 2.5 × `seconds`, so a worker's jobs do not all end together
    (a worker between two batches holds nothing, which a kill -9 test must not hit by chance)."""
    now = utcnow()
    await Job.bulk_create([
        Job(kind="test.probe", payload={"log": str(log), "seconds": seconds * (1 + (n % 7) / 4 if staggered else 1)},
            run_after=now)
        for n in range(count)
    ])
    return list(await Job.filter(kind="test.probe").values_list("id", flat=True))


def runs(log: Path) -> list[tuple[int, int]]:
    if not log.exists():
        return []
    return [(int(job), int(pid)) for job, pid in (line.split() for line in log.read_text().splitlines())]


def start_workers(n: int, path: Path, bridge_cmd: list[str], env: dict[str, str], name: str = "worker") -> list[BridgeProcess]:
    return [BridgeProcess([*bridge_cmd, "-c", str(path), "worker"], env, path.with_name(f"{name}{i}.log")) for i in range(n)]


async def all_done(total: int) -> bool:
    return await Job.filter(kind="test.probe", state=JobState.DONE).count() == total


async def test_two_workers_run_a_thousand_jobs_exactly_once(
    write_config, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path, database: Config  # type: ignore[no-untyped-def]
) -> None:
    path = write_config(queue="concurrency = 16")
    log = tmp_path / "runs.log"
    workers = start_workers(2, path, bridge_cmd, bridge_env)
    try:
        # Both claim from the start: neither may finish the lot before the other is up.
        await eventually(lambda: _started(workers), 60, "both workers to start")
        ids = await enqueue_probes(1000, log, seconds=0.005)
        await eventually(lambda: all_done(1000), 240, "1,000 jobs to be done")
        for w in workers:
            w.signal(signal.SIGTERM)
        assert [await w.wait(30) for w in workers] == [0, 0]
    finally:
        for w in workers:
            w.kill()
    done = runs(log)
    counts = Counter(job for job, _pid in done)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}, "a job ran more than once"
    by_worker = Counter(pid for _job, pid in done)
    assert set(by_worker) == {w.pid for w in workers}, "both workers took part"
    assert await Job.filter(kind="test.probe", attempts=1).count() == 1000


async def test_jobs_of_a_killed_worker_are_done_after_its_lease_expires(
    write_config, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path, database: Config  # type: ignore[no-untyped-def]
) -> None:
    path = write_config(queue="concurrency = 8\nlease_seconds = 3.0")
    log = tmp_path / "runs.log"
    victim, survivor = start_workers(2, path, bridge_cmd, bridge_env)
    try:
        await eventually(lambda: _started([victim, survivor]), 60, "both workers to start")
        ids = await enqueue_probes(400, log, seconds=0.2, staggered=True)  # ~9 s of work for both
        await eventually(lambda: _ran_at_least(log, victim.pid, 10), 120, "the victim to run 10 jobs")
        await eventually(lambda: _holds_jobs(victim.pid), 30, "the victim to hold jobs")
        victim.signal(signal.SIGKILL)
        assert await victim.wait(10) == -signal.SIGKILL
        # What it held at death stays leased to it until the lease (3 s, renewed each 1 s) runs out.
        held = set(
            await Job.filter(kind="test.probe", state=JobState.RUNNING, lease_owner__endswith=f":{victim.pid}")
            .values_list("id", flat=True)
        )
        assert held, "the victim was killed in the middle of jobs"
        await eventually(lambda: all_done(400), 180, "every job, including the victim's, to be done")
        survivor.signal(signal.SIGTERM)
        assert await survivor.wait(30) == 0
    finally:
        victim.kill()
        survivor.kill()
    counts = Counter(job for job, _pid in runs(log))
    assert sorted(counts) == sorted(ids), "every job ran at least once"
    twice = {job for job, n in counts.items() if n > 1}
    assert twice <= held, "only jobs cut off by the kill may run again"
    retaken = await Job.filter(id__in=list(held)).values_list("attempts", flat=True)
    assert all(a == 2 for a in retaken), "the killed worker's jobs were taken over after their lease expired"
    assert {pid for job, pid in runs(log) if job in held} - {victim.pid} == {survivor.pid}


async def _holds_jobs(pid: int) -> bool:
    return await Job.filter(kind="test.probe", state=JobState.RUNNING, lease_owner__endswith=f":{pid}").count() >= 3


async def _started(workers: list[BridgeProcess]) -> bool:
    return all("worker.start" in w.logs() for w in workers)


async def _ran_at_least(log: Path, pid: int, n: int) -> bool:
    await asyncio.sleep(0)
    return sum(1 for _job, p in runs(log) if p == pid) >= n
