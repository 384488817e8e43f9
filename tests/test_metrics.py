"""/metrics: Prometheus text format (parsed with prometheus_client's own parser), behind the
admin token or on a listener of its own; counters move when work is done."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bridge.app import make_app
from bridge.appkeys import CONFIG, HTTP
from bridge.config import load_config
from bridge.core import metrics
from bridge.jobs import outcomes
from bridge.jobs.kinds import Deliver, PluginJob, typed
from bridge.jobs.store import JobContext, enqueue
from bridge.jobs.worker import Worker
from bridge.models import Job, JobState
from bridge.publish.delivery import deliver_job

from .admin_seed import TOKEN
from .procs import BridgeProcess


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def client(write_config: Any) -> AsyncIterator[TestClient]:
    config = load_config(write_config(), env={"BRIDGE_ADMIN_TOKEN": TOKEN})
    async with TestClient(TestServer(make_app(config, workers=False))) as c:
        yield c


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


async def test_metrics_need_the_admin_token(client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})).status == 401


async def test_queue_depth_by_kind_comes_from_the_database(client: TestClient) -> None:
    await enqueue(PluginJob("ping", {"blog": "blog"}))
    await enqueue(PluginJob("ping", {"blog": "blog"}))
    await Job.create(kind="deliver", payload={}, state=JobState.DEAD, run_after=datetime.now(UTC))
    text = await scrape(client)
    assert value(text, "bridge_queue_jobs", kind="ping", state="queued") == 2
    assert value(text, "bridge_queue_jobs", kind="deliver", state="dead") == 1


async def test_counters_move_with_work(client: TestClient) -> None:
    before = await scrape(client)
    # An inbox POST without a signature is refused: counted by type and reason.
    body = json.dumps({"id": "https://peer.example/a/1", "type": "Like", "actor": "https://peer.example/u",
                       "object": "https://bridge.example/users/blog"}).encode()
    assert (await client.post("/users/blog/inbox", data=body,
                              headers={"Content-Type": "application/activity+json"})).status == 401
    # A real delivery to a local inbox that answers 202, and one that answers 500, run by the worker.
    received: list[bytes] = []

    async def inbox(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=202 if request.path == "/ok" else 500)

    app = web.Application()
    app.router.add_post("/{tail:.*}", inbox)
    async with TestServer(app, host="127.0.0.1") as peer:
        await enqueue(Deliver("blog", str(peer.make_url("/ok")), activity={"id": "x1", "type": "Create"}))
        await enqueue(Deliver("blog", str(peer.make_url("/fail")), activity={"id": "x2", "type": "Create"}))
        config = client.app[CONFIG]
        worker = Worker(config.queue, dict([typed(Deliver, deliver_job)]), context=JobContext(config=config, http=client.app[HTTP]))
        await worker.run_once()
    assert len(received) == 2
    after = await scrape(client)
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    likes = {labels: v - value(before, name, **dict(labels)) for (name, labels), v in samples(after).items()
             if name == "bridge_inbox_activities_total" and ("type", "Like") in labels}
    changed = {labels: d for labels, d in likes.items() if d}  # other tests in this process counted too
    assert list(changed.values()) == [1], likes  # one refused Like, under its reason
    assert delta("bridge_deliveries_total", outcome="done") == 1
    assert delta("bridge_deliveries_total", outcome="retry") == 1
    assert delta("bridge_jobs_finished_total", kind="deliver", outcome="done") == 1
    assert delta("bridge_jobs_finished_total", kind="deliver", outcome="retry") == 1
    assert delta("bridge_delivery_duration_seconds_count") == 2


async def test_fetch_latency_histogram_and_webmention_outcomes() -> None:
    count = metrics.FETCH_SECONDS.count(outcome="ok")
    metrics.FETCH_SECONDS.observe(0.2, outcome="ok")
    outcomes.count("webmention.send", "dead")
    text = metrics.render([("webmention.send", "queued", 3)])
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["bridge_fetch_duration_seconds"].type == "histogram"
    assert families["bridge_webmentions"].type == "counter"
    assert value(text, "bridge_fetch_duration_seconds_count", outcome="ok") == count + 1
    assert value(text, "bridge_fetch_duration_seconds_bucket", outcome="ok", le="0.25") >= 1
    assert value(text, "bridge_fetch_duration_seconds_bucket", outcome="ok", le="0.1") < \
        value(text, "bridge_fetch_duration_seconds_bucket", outcome="ok", le="+Inf")
    assert value(text, "bridge_webmentions_total", outcome="dead") >= 1


async def test_metrics_listener_serves_metrics_without_token_and_nothing_else(
        write_config: Any, free_port: int, bridge_cmd: list[str], bridge_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        main_port = s.getsockname()[1]
    path = write_config(f'[admin]\nmetrics_listen = "127.0.0.1:{free_port}"\n', port=main_port)
    proc = BridgeProcess([*bridge_cmd, "-c", str(path), "serve"], bridge_env, tmp_path / "serve.log")
    try:
        response = await proc.wait_http(f"http://127.0.0.1:{free_port}/metrics")
        text = await response.text()
        assert response.status == 200 and "bridge_queue_jobs" in text
        list(text_string_to_metric_families(text))  # parses
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{free_port}/users/blog") as other:
                assert other.status == 404
            async with http.get(f"http://127.0.0.1:{main_port}/metrics") as main:
                assert main.status == 404  # no admin token configured: not on the main listener
    finally:
        proc.kill()


def test_histogram_buckets_are_cumulative_with_each_bound_inclusive() -> None:
    histogram = metrics.Histogram("t_seconds", "test", ["outcome"], buckets=(0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 1.0, 3.0):
        histogram.observe(seconds, outcome="ok")
    text = "\n".join(histogram.render())
    assert 't_seconds_bucket{outcome="ok",le="0.1"} 2' in text  # 0.05 and 0.1 itself
    assert 't_seconds_bucket{outcome="ok",le="1"} 4' in text
    assert 't_seconds_bucket{outcome="ok",le="+Inf"} 5' in text
    assert 't_seconds_count{outcome="ok"} 5' in text and histogram.count(outcome="ok") == 5
    with pytest.raises(ValueError):
        metrics.DELIVERIES.inc(result="done")  # a label it does not take
