"""What a group relays (FEP-1b12: Lemmy, PieFed, Mbin, NodeBB, Discourse): an `Announce` by the
group whose object is a member's own activity, to be taken as that member's.

A flow helper for bridge/inbox/dispatch.py. The group signed the Announce, not the member,
so the embedded activity is a claim until checked against its author (never trusted as the
signer's): one with an integrity proof by its author that verifies (FEP-8b32,
bridge/inbox/proofs.py) is taken as it is; otherwise it is read back from the author's own
server: a Create or Update by its object (which must be the author's, on the author's host),
a Delete by finding the object gone there (404 or 410), anything else by the activity's id.
What cannot be checked is dropped and logged (`group.unverified`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bridge.as2.ids import first_id, id_of
from bridge.core.links import host_of
from bridge.inbox.verify import proven_author
from bridge.jobs.store import JobContext
from bridge.net.fetch import FetchError, HTTPStatusError
from bridge.net.remote import RemoteActors
from bridge.signatures import Rejection

log = logging.getLogger("bridge.inbox_flow")

# Activities a group relays for its members that reach a blog: replies and their edits and
# deletions, reactions and their undoing.
RELAYED = frozenset({"Create", "Update", "Delete", "Like", "EmojiReact", "Undo"})


async def authentic(ctx: JobContext, group: str, inner: Mapping[str, Any]) -> dict[str, Any] | None:
    """The member's activity as its author's server confirms it, or None (logged)."""
    author = id_of(inner.get("actor"))
    kind = inner.get("type")
    activity_id = id_of(inner)
    why = _malformed(author, kind, activity_id)
    if why is None and author is not None and activity_id is not None:
        try:
            return await _confirmed(ctx, dict(inner), author, str(kind))
        except FetchError as exc:
            if exc.status is None or exc.status >= 500:
                raise  # weather: the job retries
            why = f"its author's server did not confirm it ({exc})"
        except _Unconfirmed as exc:
            why = str(exc)
    log.info("group.unverified group=%s id=%s actor=%s reason=%s", group, activity_id, author, why)
    return None


class _Unconfirmed(Exception):
    pass


def _malformed(author: str | None, kind: object, activity_id: str | None) -> str | None:
    if not isinstance(kind, str) or kind not in RELAYED:
        return f"a group may relay {', '.join(sorted(RELAYED))}, not {kind!r}"
    if not author or not activity_id or host_of(activity_id) != host_of(author):
        return "the activity's id is not on its actor's host"
    return None


async def _confirmed(ctx: JobContext, inner: dict[str, Any], author: str, kind: str) -> dict[str, Any]:
    remote = RemoteActors(ctx.http, ctx.config.server.base_url)
    proven = await proven_author(inner, "", remote)
    if isinstance(proven, Rejection):
        raise _Unconfirmed(proven.message)
    if proven == author:  # its author's proof verifies: as good as reading it from the source
        return inner
    obj = inner.get("object")
    object_id = id_of(obj)
    if kind in ("Create", "Update"):
        if not object_id or host_of(object_id) != host_of(author):
            raise _Unconfirmed("the object is not on its author's host")
        fetched = await remote.fetch_document(object_id)
        if first_id(fetched.get("attributedTo")) != author:
            raise _Unconfirmed("the object is not its actor's")
        return {**inner, "object": fetched}
    if kind == "Delete":
        if not object_id or host_of(object_id) != host_of(author):
            raise _Unconfirmed("the object is not on its author's host")
        try:
            await remote.fetch_document(object_id)
        except HTTPStatusError as exc:
            if exc.status in (404, 410):
                return inner
            raise
        raise _Unconfirmed("the object still exists on its author's server")
    fetched = await remote.fetch_document(str(inner["id"]))
    if fetched.get("type") != kind or id_of(fetched.get("actor")) != author or id_of(fetched.get("object")) != object_id:
        raise _Unconfirmed("its author's server tells another story")
    return fetched
