"""Moderation checks on what the fediverse sends: blocks and rate limits. An edge (reads
the database) over the pure pattern matching of bridge/core/blocks.py.

Blocks are the config's `[moderation]` lists plus the `blocks` table (the dashboard's);
one `BlockList` per app (`JobContext.state(BlockList)`) reads the table at most every
BLOCKS_TTL seconds, and forgets it at once when the dashboard of that app blocks or
unblocks (other processes see it within BLOCKS_TTL). A blocked actor's activities are
answered 202 at the inbox and dropped (telling a blocked server that it is blocked only
invites it to try from elsewhere). Rate limits count the interactions kept from one
actor, and from one server, over the last hour.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from bridge.config import Config, ModerationConfig
from bridge.core.blocks import blocked_by
from bridge.core.clock import utcnow
from bridge.core.singleflight import Remembered
from bridge.models import Block, Interaction

BLOCKS_TTL = 5.0  # seconds; a block made on another process's dashboard takes effect within this
RATE_WINDOW = timedelta(hours=1)


async def _read_patterns() -> tuple[str, ...]:
    return tuple(await Block.all().values_list("pattern", flat=True))  # type: ignore[arg-type]


class BlockList:
    """Who is blocked, for one app: the config's patterns, then the table's."""

    def __init__(self, config: Config) -> None:
        self.configured = config.moderation.blocked_actors + config.moderation.blocked_domains
        self._table = Remembered(BLOCKS_TTL, _read_patterns)  # a burst of requests reads the table once

    async def reason(self, actor: str) -> str | None:
        """The pattern that blocks `actor` (config first, then the table), or None."""
        found = blocked_by(actor, self.configured)
        if found is None:
            found = blocked_by(actor, await self._table.get())
        return found

    def forget(self) -> None:
        """Read the table afresh next time (after a block or an unblock)."""
        self._table.forget()


async def rate_limited(settings: ModerationConfig, actor: str) -> str | None:
    """Why one more interaction from `actor` is too many, or None."""
    since = utcnow() - RATE_WINDOW
    if await Interaction.filter(actor_uri=actor, created_at__gte=since).count() >= settings.actor_hourly_limit:
        return f"more than {settings.actor_hourly_limit} interactions from {actor} in an hour"
    host = (urlsplit(actor).hostname or "").lower()
    if await Interaction.filter(host=host, created_at__gte=since).count() >= settings.host_hourly_limit:
        return f"more than {settings.host_hourly_limit} interactions from {host} in an hour"
    return None
