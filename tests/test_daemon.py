"""`bridge serve` and `bridge worker` as real processes: health, jobs, signals, logs."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from bridge.config import Config, load_config
from bridge.jobs.kinds import PluginJob
from bridge.jobs.store import enqueue
from bridge.models import Job, JobState

from .procs import BridgeProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]
SECRET = "s3cret-admin-token-value"


@pytest.fixture
def serve_config(write_config, free_port: int) -> Path:  # type: ignore[no-untyped-def]
    return write_config(port=free_port, queue="shutdown_grace_seconds = 10.0")


def start(bridge_cmd: list[str], bridge_env: dict[str, str], path: Path, *args: str) -> BridgeProcess:
    env = dict(bridge_env, BRIDGE_ADMIN_TOKEN=SECRET)
    return BridgeProcess([*bridge_cmd, "-c", str(path), *args], env, path.with_suffix(f".{len(args)}.log"))


def probe_ids(log: Path) -> list[int]:
    return [int(line.split()[0]) for line in log.read_text().splitlines()] if log.exists() else []


async def test_serve_answers_health_runs_jobs_and_stops_cleanly_on_sigterm(
    serve_config: Path, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path, database: Config
) -> None:
    config = load_config(serve_config, env={})
    base = f"http://127.0.0.1:{config.server.listen_port}"
    proc = start(bridge_cmd, bridge_env, serve_config, "serve")
    try:
        health = await proc.wait_http(f"{base}/healthz")
        assert health.status == 200
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert (await resp.json())["status"] == "ok"
            async with http.get(f"{base}/readyz") as resp:
                assert resp.status == 200 and (await resp.json()) == {"status": "ready", "database": "ok"}

        log = tmp_path / "probe.log"
        quick = await enqueue(PluginJob("test.probe", {"log": str(log)}))
        await eventually(lambda: _state_is(quick.id, JobState.DONE), 30, "the worker in `serve` to run a job")
        assert probe_ids(log) == [quick.id]

        slow = await enqueue(PluginJob("test.probe", {"log": str(log), "seconds": 2}))
        await eventually(lambda: _state_is(slow.id, JobState.RUNNING), 30, "the slow job to start")
        proc.signal(signal.SIGTERM)
        assert await proc.wait(30) == 0
    finally:
        proc.kill()
    await _refresh(slow)
    assert slow.state is JobState.DONE  # finished within the grace period
    assert probe_ids(log) == [quick.id, slow.id]
    logs = proc.logs()
    assert "worker.draining" in logs and "daemon.stopped" in logs
    assert f"job.done kind=test.probe id={slow.id} attempt=1" in logs
    assert 'http.request remote=127.0.0.1 request="GET /readyz HTTP/1.1" status=200' in logs
    assert SECRET not in logs and "PRIVATE KEY" not in logs
    assert all(line[:4].isdigit() for line in logs.splitlines()), "every log line is one timestamped event"


async def test_sigterm_gives_a_long_job_back_to_the_queue(
    write_config, free_port: int, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path, database: Config  # type: ignore[no-untyped-def]
) -> None:
    path = write_config(port=free_port, queue="shutdown_grace_seconds = 0.5")
    proc = start(bridge_cmd, bridge_env, path, "serve")
    try:
        await proc.wait_http(f"http://127.0.0.1:{free_port}/healthz")
        job = await enqueue(PluginJob("test.probe", {"log": str(tmp_path / "probe.log"), "seconds": 60}))
        await eventually(lambda: _state_is(job.id, JobState.RUNNING), 30, "the long job to start")
        proc.signal(signal.SIGTERM)
        assert await proc.wait(30) == 0
    finally:
        proc.kill()
    await _refresh(job)
    assert (job.state, job.attempts, job.lease_owner) == (JobState.QUEUED, 0, None)
    assert f"job.released kind=test.probe id={job.id}" in proc.logs()


async def test_serve_without_workers_and_a_separate_worker(
    serve_config: Path, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path, database: Config
) -> None:
    config = load_config(serve_config, env={})
    web = start(bridge_cmd, bridge_env, serve_config, "serve", "--no-workers")
    worker = None
    try:
        await web.wait_http(f"http://127.0.0.1:{config.server.listen_port}/healthz")
        log = tmp_path / "probe.log"
        job = await enqueue(PluginJob("test.probe", {"log": str(log)}))
        await asyncio.sleep(1.0)
        assert await _state_is(job.id, JobState.QUEUED) and probe_ids(log) == []  # no worker in this process
        worker = start(bridge_cmd, bridge_env, serve_config, "worker")
        await eventually(lambda: _state_is(job.id, JobState.DONE), 30, "`bridge worker` to run the job")
        assert probe_ids(log) == [job.id]
        worker.signal(signal.SIGINT)
        web.signal(signal.SIGINT)
        assert await worker.wait(30) == 0
        assert await web.wait(30) == 0
    finally:
        web.kill()
        if worker:
            worker.kill()


async def _state_is(job_id: int, state: JobState) -> bool:
    return await Job.filter(id=job_id, state=state).exists()


async def _refresh(job: Job) -> None:
    await job.refresh_from_db()




def test_the_daemon_raises_its_open_files_limit_and_tunes_the_collector(tmp_path: Path) -> None:
    """512 deliveries in flight need more than the 1024 open files many systems start a
    process with: the daemon raises its soft limit (up to the hard one) and says so."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import logging, resource, sys
        from pathlib import Path
        from bridge.config import parse_config
        from bridge.daemon import raise_open_files_limit
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        config = parse_config({"server": {"base_url": "https://bridge.example"},
                               "blogs": [{"name": "blog", "url": "https://blog.example/"}]}, path=Path("/tmp/c.toml"), env={})
        raise_open_files_limit(config)
        from bridge.daemon import GC_THRESHOLDS, tune_gc
        import gc
        tune_gc()
        print("gc", gc.get_threshold() == GC_THRESHOLDS, gc.get_freeze_count() > 1000)
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    *logged, collector, last = out.strip().splitlines()
    assert collector == "gc True True", out  # start-up objects frozen, collections less often
    soft, hard = (int(x) for x in last.split())
    want = 512 + 64 + 512  # delivery.concurrency's default + its fetches + everything else
    assert soft == (want if hard < 0 or hard >= want else hard), out
    assert logged[0] == f"daemon.open_files soft_limit={soft} was=256", out
