"""The app factory: one aiohttp application wiring every resource, route and job kind.

Each resource is opened and closed in one cleanup context, in order: the database
(migrated, keys made), the one outbound HTTP client, the app's context (its caches and
host health, shared by its workers and its inbox: bridge/jobs/store.py `JobContext`), the
queue workers. `bridge worker` uses the same app without binding a socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver
from tortoise.context import get_current_context

from bridge import __version__, db
from bridge.appkeys import CONFIG, CONTEXT, HTTP, WORKER
from bridge.config import Config
from bridge.inbox import routes as inbox
from bridge.inbox.dispatch import inbox_job
from bridge.jobs.kinds import (
    ActorUpdate,
    Deliver,
    Handler,
    Ping,
    Poll,
    ProcessInbox,
    Publish,
    ReconcileBluesky,
    SendWebmention,
    typed,
)
from bridge.jobs.store import JobContext, load_handlers
from bridge.jobs.worker import Worker
from bridge.keys import INSTANCE_ACTOR, ensure_keys
from bridge.net.fetch import user_agent
from bridge.net.guard import AddressPolicy, IPNetwork, guarded_connector
from bridge.ops.admin import metrics as metrics_http
from bridge.ops.admin import pages as admin
from bridge.public import routes as public
from bridge.publish.delivery import deliver_job, warm_signing_keys
from bridge.publish.fanout import actor_update_job, publish_job
from bridge.publish.following import enqueue_reconciles, reconcile_job
from bridge.publish.polling import poll_job, schedule_polls
from bridge.webmention import pages as interaction_pages
from bridge.webmention import receive as ping
from bridge.webmention.send import webmention_job

log = logging.getLogger("bridge.app")


MAX_REQUEST_BYTES = 1024 * 1024  # inbox bodies and forms; larger requests get 413
# Every job kind of ours and its one handler (bridge/jobs/kinds.py says how to add one).
BUILTIN_HANDLERS: dict[str, Handler] = dict([
    typed(Poll, poll_job),
    typed(ProcessInbox, inbox_job),
    typed(Deliver, deliver_job),
    typed(Publish, publish_job),
    typed(ActorUpdate, actor_update_job),
    typed(Ping, ping.ping_job),
    typed(SendWebmention, webmention_job),
    typed(ReconcileBluesky, reconcile_job),
])


POLL_SCHEDULER_SECONDS = 5.0  # how often a worker process checks whether a blog is due
FETCH_ROOM, FETCH_ROOM_PER_HOST = 64, 4  # connections beyond the deliveries' for GETs


def new_http_session(
    config: Config,
    *,
    resolver: AbstractResolver | None = None,
    allowed_networks: Iterable[IPNetwork] = (),
) -> aiohttp.ClientSession:
    """The outbound HTTP client: one per process (the app's, or a CLI command's).

    Its connector refuses private, loopback… addresses unless
    `security.allow_private_addresses` (bridge/net/guard.py); `resolver` replaces the
    system's name lookup and `allowed_networks` are exceptions to the rule.
    trust_env stays off: a proxy from the environment would hide the addresses checked.
    """
    policy = AddressPolicy(config.security.allow_private_addresses, tuple(allowed_networks))
    # Open connections follow the delivery limits (the politeness rule is
    # delivery.per_host_concurrency, bridge/net/hosts.py), plus room for the page and actor
    # fetches beside the deliveries: at most delivery.concurrency + 64 sockets in all, and
    # per_host_concurrency + 4 to one host.
    connector = guarded_connector(
        policy,
        resolver,
        limit_per_host=config.delivery.per_host_concurrency + FETCH_ROOM_PER_HOST,
        limit=config.delivery.concurrency + FETCH_ROOM,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent(f"{config.server.base_url}/")},
        timeout=aiohttp.ClientTimeout(total=60, connect=10, sock_connect=10, sock_read=30),
        trust_env=False,
    )


async def prepare_storage(config: Config) -> list[str]:
    """Migrate the schema and make missing keys, once, under the cross-process lock."""
    actors = [blog.name for blog in config.blogs] + [INSTANCE_ACTOR]
    return await db.migrate(config.database, then=lambda: ensure_keys(actors))


def make_app(
    config: Config,
    *,
    workers: bool = True,
    handlers: Mapping[str, Handler] | None = None,
) -> web.Application:
    """The whole bridge as an aiohttp application."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[CONFIG] = config
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(_context)
    if workers:
        app.cleanup_ctx.append(_queue_workers(load_handlers({**BUILTIN_HANDLERS, **(handlers or {})})))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    public.add_routes(app)
    inbox.add_routes(app)
    ping.add_routes(app)
    interaction_pages.add_routes(app)
    admin.add_routes(app)
    metrics_http.add_routes(app)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    applied = await prepare_storage(config)
    log.info("db.ready url=%s migrations_applied=%d", config.database.redacted_url, len(applied))
    await enqueue_reconciles(config)  # the blogs' follow of Bridgy Fed's bot, as the config now says
    opened = get_current_context()
    yield
    if opened is None:
        await db.close_db()
        return
    # tortoise keeps its connections in a contextvar: the cleanup may run in another task than
    # the startup (a test fixture's teardown does), where they would be invisible and stay
    # open (aiosqlite's worker threads then keep the process from exiting).
    with opened:
        await db.close_db()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    session = new_http_session(config)
    app[HTTP] = session
    yield
    await session.close()


async def _context(app: web.Application) -> AsyncIterator[None]:
    """The app's state: what its workers and its inbox keep (caches, host health); gone with the app."""
    app[CONTEXT] = JobContext(config=app[CONFIG], http=app[HTTP])
    yield


def _queue_workers(handlers: Mapping[str, Handler]) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        config = app[CONFIG]
        worker = Worker(config.queue, handlers, context=app[CONTEXT])
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name="queue-worker")
        warm = asyncio.create_task(warm_signing_keys(worker.context), name="warm-keys")
        scheduler = asyncio.create_task(_poll_scheduler(config), name="poll-scheduler")
        yield
        scheduler.cancel()
        warm.cancel()
        worker.stop()  # stop claiming; in-flight jobs get the grace period, then go back to the queue
        await task

    return ctx


async def _poll_scheduler(config: Config) -> None:
    """Enqueue each blog's poll when it is due (once across processes: see schedule_polls)."""
    while True:
        try:
            await schedule_polls(config.blogs)
        except Exception as exc:  # the database may be restarting; try again next round
            log.warning("poll.schedule_failed error=%s", type(exc).__name__)
        await asyncio.sleep(POLL_SCHEDULER_SECONDS)


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.json_response({"status": "ok", "version": __version__})


async def readyz(request: web.Request) -> web.Response:
    """Ready: the database answers too."""
    try:
        await asyncio.wait_for(db.ping(), timeout=5)
    except Exception as exc:
        log.warning("readyz.failed error=%s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ready", "database": "ok"})
