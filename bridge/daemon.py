"""Running the bridge as a daemon: `bridge serve` and `bridge worker`.

SIGTERM or SIGINT stops taking requests, stops claiming jobs, lets in-flight
jobs finish within `queue.shutdown_grace_seconds` (the rest go back to the
queue for another process), closes everything and returns normally.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import resource
import signal

from aiohttp import web

from bridge.app import make_app
from bridge.config import Config
from bridge.config.advice import slow_settings
from bridge.core.logs import ACCESS_LOG_FORMAT

log = logging.getLogger("bridge.daemon")

# Beside the deliveries' sockets (delivery.concurrency + 64, bridge/app.py): the fediverse's
# requests to the inbox, the database, logs. Many systems start a process with a soft limit
# of 1024 open files; the hard limit is usually far higher, and raising to it needs no rights.
OTHER_FILES = 512


# The collector's thresholds for a process that holds a few hundred jobs, tasks and
# connections at once: CPython's default (700 allocations) runs the young generation's
# collection every few deliveries and the full one ever more often as the heap grows;
# measured in bench/fanout.py (100,000 followers), 10,000/50/100 takes a third less CPU
# per delivery at the same peak memory.
GC_THRESHOLDS = (10_000, 50, 100)


def tune_gc() -> None:
    """Move what is alive after start-up (modules, models, config) out of the collector's
    sight (`gc.freeze`) and collect less often: the daemon's garbage is short-lived."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def raise_open_files_limit(config: Config) -> None:
    """Raise the soft limit on open files (up to the hard one) to what the delivery settings
    need; say so when even the hard limit is lower."""
    want = config.delivery.concurrency + 64 + OTHER_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        log.info("daemon.open_files soft_limit=%d was=%d", new, soft)
        if new < want:
            log.warning("daemon.open_files soft_limit=%d below %d (delivery.concurrency + %d): raise LimitNOFILE "
                        "(systemd) or lower delivery.concurrency", new, want, 64 + OTHER_FILES)


async def run_daemon(config: Config, *, http: bool = True, workers: bool = True) -> None:
    """Run until SIGTERM/SIGINT. `http=False` is `bridge worker`; `workers=False` is `serve --no-workers`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    app = make_app(config, workers=workers)
    runner = web.AppRunner(
        app,
        access_log_format=ACCESS_LOG_FORMAT,
        handle_signals=False,
        shutdown_timeout=config.queue.shutdown_grace_seconds,
    )
    raise_open_files_limit(config)
    await runner.setup()  # opens the database, the HTTP client and the workers
    tune_gc()
    for advice in slow_settings(config) if workers else ():
        log.warning("config.slow %s", advice)
    try:
        if http:
            site = web.TCPSite(runner, config.server.listen_host, config.server.listen_port, reuse_address=True)
            await site.start()
            log.info(
                "serve.listening address=http://%s:%d base_url=%s workers=%s",
                config.server.listen_host, config.server.listen_port, config.server.base_url, workers,
            )
            if config.admin.metrics_port:
                # Only /metrics answers there (bridge/ops/admin/metrics.py), without a token.
                metrics_site = web.TCPSite(runner, config.admin.metrics_host, config.admin.metrics_port,
                                           reuse_address=True)
                await metrics_site.start()
                log.info("serve.metrics address=http://%s:%d/metrics", config.admin.metrics_host,
                         config.admin.metrics_port)
        else:
            log.info("worker.running base_url=%s", config.server.base_url)
        await stop.wait()
        log.info("daemon.stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()  # site first, then workers (drained), HTTP client, database
    log.info("daemon.stopped")
