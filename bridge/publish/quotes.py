"""The authorizations we gave to quotes of our posts (FEP-044f), and their revocation.

An edge over bridge/as2/quotes.py, shared by the inbox (which approves a `QuoteRequest`,
bridge/inbox/quotes.py), the public routes (which serve an authorization at its id,
bridge/public/quotes.py) and the publish flow: when a post is deleted, each standing
authorization of a quote of it is revoked with a `Delete` to its quoter (Mastodon's
`DeleteQuoteAuthorizationSerializer`), and its id answers 404 from then on.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.as2.quotes import revoke_authorization
from bridge.core import urls
from bridge.jobs.kinds import Deliver
from bridge.jobs.store import enqueue
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionKind,
    InteractionState,
    PostState,
    RemoteActor,
)

log = logging.getLogger("bridge.interactions")
AUTHORIZED = "authorized"  # the key in Interaction.data: an Accept with this quote's authorization was sent


def authorization_of(base_url: str, row: Interaction) -> str | None:
    """The authorization of a quote we approved, unless its author deleted the quote; else
    None. (The operator rejecting it keeps it off the blog, not off the fediverse.)"""
    if row.kind is not InteractionKind.QUOTE or not (row.data or {}).get(AUTHORIZED):
        return None
    if row.state is InteractionState.DELETED:
        return None
    return urls.quote_authorization(urls.actor_id(base_url, row.blog), row.id)


async def standing_authorization(base_url: str, name: str, interaction_id: int) -> tuple[Interaction, str] | None:
    """The quote and its authorization, if it stands: approved, not withdrawn, its post live."""
    row = await Interaction.get_or_none(id=interaction_id, blog=name, kind=InteractionKind.QUOTE)
    authorization = authorization_of(base_url, row) if row is not None else None
    if row is None or authorization is None or row.post_id is None:
        return None
    if not await BlogPost.exists(id=row.post_id, blog=name, state=PostState.LIVE):
        return None
    return row, authorization


async def revoke_quotes(base_url: str, blog: str, post_id: int, *, using_db: Any = None) -> int:
    """The post is gone: a `Delete` of each standing authorization of a quote of it, to its quoter."""
    me = urls.actor_id(base_url, blog)
    revoked = 0
    for row in await Interaction.filter(blog=blog, post_id=post_id, kind=InteractionKind.QUOTE).using_db(using_db):
        authorization = authorization_of(base_url, row)
        actor = await RemoteActor.filter(uri=row.actor_uri).using_db(using_db).first() if authorization else None
        if authorization is None or actor is None or not actor.inbox:
            continue
        activity = revoke_authorization(authorization, actor=me, quoter=row.actor_uri)
        await enqueue(Deliver(blog, actor.inbox, activity=activity), dedupe_key=f"revoke:{authorization}",
                      using_db=using_db)
        revoked += 1
    if revoked:
        log.info("quote.revoked blog=%s post=%d authorizations=%d", blog, post_id, revoked)
    return revoked
