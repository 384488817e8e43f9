"""Failures that show (issue 16): a bug in a job handler is logged once with its traceback,
the job is dead at once (not retried 18 times over two days as if the network had failed),
it is on the dashboard's Jobs page and in /metrics, and the operator can retry it after a
fix. Weather keeps its retry policy and its one line."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bridge.app import BUILTIN_HANDLERS
from bridge.appkeys import CONTEXT
from bridge.jobs.kinds import Deliver, PluginJob
from bridge.jobs.store import JobContext, enqueue
from bridge.jobs.worker import Worker
from bridge.models import Job, JobState
from bridge.net.fetch import FetchError

from .admin_seed import TOKEN
from .test_admin import login_csrf, open_client

pytestmark = pytest.mark.usefixtures("database")
runs: list[int] = []


async def buggy(job: Job, ctx: JobContext) -> None:
    """What an id past BIGINT did to the inbox job before the router: a bug, not weather."""
    runs.append(job.id)
    int("9" * 25).to_bytes(8, "big", signed=True)  # OverflowError


async def cloudy(job: Job, ctx: JobContext) -> None:
    runs.append(job.id)
    raise FetchError("https://down.example/inbox", "timeout after 30 s")


@pytest.fixture
async def client(write_config: Callable[..., Path]) -> AsyncIterator[TestClient]:
    runs.clear()
    client = await open_client(write_config, {"BRIDGE_ADMIN_TOKEN": TOKEN})  # the dashboard's, as in test_admin
    yield client
    await client.close()


def worker(client: TestClient) -> Worker:
    handlers = {**BUILTIN_HANDLERS, "test.buggy": buggy, "test.cloudy": cloudy}
    context = client.app[CONTEXT]
    return Worker(context.config.queue, handlers, context=context)


async def bugs_counted(client: TestClient) -> float:
    text = await (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "bridge_job_bugs_total"
               and sample.labels == {"kind": "test.buggy", "error": "OverflowError"})


async def test_a_handler_bug_logs_one_traceback_and_the_job_is_dead_at_once(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    before = await bugs_counted(client)
    job = await enqueue(PluginJob("test.buggy", {}))
    with caplog.at_level(logging.INFO, logger="bridge"):
        assert await worker(client).run_until_idle() == 1
    job = await Job.get(id=job.id)
    assert runs == [job.id] and (job.state, job.attempts) == (JobState.DEAD, 1)  # once, not 18 times
    assert job.last_error.startswith("OverflowError: ") and "a bug (OverflowError)" in job.last_error
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, caplog.text
    [record] = tracebacks
    assert record.getMessage().startswith(f"job.dead kind=test.buggy id={job.id} attempt=1 ")
    assert "Traceback" in caplog.text and "in buggy" in caplog.text and "int(\"9\" * 25)" in caplog.text
    assert await bugs_counted(client) == before + 1

    # The operator sees it on the Jobs page, and retries it after a fix.
    logged_in = await client.post("/admin/login", data={"token": TOKEN, "csrf": await login_csrf(client)})
    assert logged_in.status == 200
    jobs = await (await client.get("/admin/jobs")).text()
    assert "test.buggy" in jobs and "a bug (OverflowError)" in jobs
    session_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', jobs)
    assert session_csrf
    retried = await client.post("/admin/jobs/retry", data={"csrf": session_csrf.group(1), "job": str(job.id)})
    assert retried.status == 200 and "1 dead jobs queued again" in await retried.text()
    job = await Job.get(id=job.id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)


async def test_weather_keeps_its_retry_policy_and_its_one_line(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    job = await enqueue(PluginJob("test.cloudy", {}))
    with caplog.at_level(logging.INFO, logger="bridge"):
        await worker(client).run_until_idle()
    job = await Job.get(id=job.id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 1) and job.run_after > job.updated_at  # back later
    assert not [r for r in caplog.records if r.exc_info]
    assert f"job.retry kind=test.cloudy id={job.id} attempt=1" in caplog.text


async def test_a_payload_that_does_not_fit_its_kind_is_dead_at_once_and_says_why(client: TestClient) -> None:
    job = await enqueue(PluginJob(Deliver.KIND, {"actor": "blog", "inbox": 7}))  # written by something else
    await worker(client).run_until_idle()
    job = await Job.get(id=job.id)
    assert (job.state, job.attempts) == (JobState.DEAD, 1)
    assert "deliver: inbox is 7, expected str" in job.last_error
