"""`/metrics` over HTTP: behind the admin token (`Authorization: Bearer …`), or without
it on a listener of its own (`admin.metrics_listen`), which serves nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from tortoise.functions import Count

from bridge.appkeys import CONFIG
from bridge.core import metrics
from bridge.models import Job, JobState
from bridge.ops.admin.auth import token_matches

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _on_metrics_listener(request: web.Request) -> bool:
    port = request.app[CONFIG].admin.metrics_port
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return bool(port) and isinstance(sockname, tuple) and len(sockname) >= 2 and sockname[1] == port


async def queue_depth_by_kind() -> list[tuple[str, str, int]]:
    """(kind, state, count) of the jobs not done, from the database."""
    rows = await Job.exclude(state=JobState.DONE).annotate(n=Count("id")).group_by("kind", "state").values_list(
        "kind", "state", "n")
    return sorted((str(kind), str(state), int(n)) for kind, state, n in rows)


async def metrics_view(request: web.Request) -> web.Response:
    if not _on_metrics_listener(request):
        token = request.app[CONFIG].server.admin_token
        if not token:
            return web.Response(status=404, text="metrics: no admin token configured and no admin.metrics_listen\n")
        scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches(token, offered.strip()):
            return web.Response(status=401, text="metrics: send Authorization: Bearer <admin token>\n",
                                headers={"WWW-Authenticate": 'Bearer realm="bridge metrics"'})
    body = metrics.render(await queue_depth_by_kind())
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


@web.middleware
async def metrics_listener_only(request: web.Request,
                                handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """The metrics listener answers /metrics and nothing else."""
    if request.path != "/metrics" and _on_metrics_listener(request):
        return web.Response(status=404, text="only /metrics here\n")
    return await handler(request)


def add_routes(app: web.Application) -> None:
    app.middlewares.append(metrics_listener_only)
    app.router.add_get("/metrics", metrics_view)
