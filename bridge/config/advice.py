"""Settings that hold the bridge back: what `bridge check` and the daemon's start say about a
config whose delivery limits are far below what a fan-out needs (issue 19).

Until 0.2 the defaults were `queue.concurrency = 8` and `per_host_concurrency = 4`, and
config.example.toml spelled them out, so a config copied from it keeps them: a post then
reaches its followers' servers 8 requests at a time (64 s instead of 13 s for 1,000
followers in bench/world.py). Nothing here is an error: an operator may want a gentle
bridge; they are told what it costs and how to get the default.
"""

from __future__ import annotations

from bridge.config.settings import Config, DeliveryConfig, QueueConfig

_QUEUE, _DELIVERY = QueueConfig(), DeliveryConfig()  # the defaults
# Below these a fan-out to a few thousand inboxes is held back by the settings, not by the
# network: a quarter of the defaults (bridge/config/settings.py).
LOW_CONCURRENCY = _QUEUE.concurrency // 4
LOW_PER_HOST = _DELIVERY.per_host_concurrency // 4


def slow_settings(config: Config) -> list[str]:
    """One sentence per setting that limits deliveries well below the defaults (empty: none)."""
    queue, delivery = config.queue, config.delivery
    out: list[str] = []
    if queue.concurrency < LOW_CONCURRENCY:
        out.append(f"queue.concurrency = {queue.concurrency}: at most {queue.concurrency} deliveries run at once "
                   f"(the default, {_QUEUE.concurrency}, fits a blog with 10,000 followers; older copies of "
                   "config.example.toml set 8)")
    if delivery.concurrency < LOW_CONCURRENCY:
        out.append(f"delivery.concurrency = {delivery.concurrency}: at most {delivery.concurrency} requests in "
                   f"flight (default {_DELIVERY.concurrency})")
    elif LOW_CONCURRENCY <= queue.concurrency < delivery.concurrency:
        out.append(f"queue.concurrency = {queue.concurrency} is below delivery.concurrency = "
                   f"{delivery.concurrency}: deliveries are jobs, so only {queue.concurrency} are in flight")
    if delivery.per_host_concurrency < LOW_PER_HOST:
        out.append(f"delivery.per_host_concurrency = {delivery.per_host_concurrency}: a server with many followers "
                   f"gets one request at a time (default {_DELIVERY.per_host_concurrency})")
    return out
