"""The verified keys of recent signers, held in memory for a minute, so a busy sender's
every request does not read its key from the database. One per app (bridge/inbox/routes.py
`Trust`); a burst of requests signed with one key not yet cached reads it once."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

from bridge.as2.remote_actor import MultikeyInfo, ResolvedKey
from bridge.core.singleflight import SharedReads
from bridge.inbox.verify import KeyResolver
from bridge.signatures import Rejection

KEY_TTL = 60.0  # seconds a signer's key is trusted from memory (a rotated key: refetched on failure)


@dataclass
class KeyCache:
    """A KeyResolver that remembers keys read from the database for `ttl` seconds; a
    refresh (the cached key failed: the signer may have rotated it) drops the entry."""

    inner: KeyResolver
    ttl: float = KEY_TTL
    _keys: dict[str, tuple[float, ResolvedKey]] = field(default_factory=dict)
    # Reads under way: a burst of requests signed with one key not yet cached reads it once.
    _reads: SharedReads[str, ResolvedKey | Rejection] = field(default_factory=SharedReads)

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | Rejection:
        if refresh:
            self._keys.pop(key_id, None)
            self._reads.forget(key_id)
            key = await self.inner.resolve_key(key_id, refresh=True)
            self._keep(key_id, time.monotonic(), key)
            return key
        hit = self._keys.get(key_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return await self._reads.read(key_id, lambda: self.inner.resolve_key(key_id),
                                      functools.partial(self._keep, key_id))

    def _keep(self, key_id: str, started: float, key: ResolvedKey | Rejection) -> None:
        if isinstance(key, ResolvedKey) and key.actor is None:  # a stored key: fetched ones are stored first
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[key_id] = (started, key)

    async def resolve_multikey(self, key_id: str, *, refresh: bool = False) -> MultikeyInfo | Rejection:
        """Not cached here: proofs are rarer than signatures, and the actor's document is."""
        return await self.inner.resolve_multikey(key_id, refresh=refresh)

    async def remember(self, key: ResolvedKey, *, using_db: Any = None) -> None:
        await self.inner.remember(key, using_db=using_db)
