"""What a blog post or comment replies to, on the fediverse side: the object id for its
`inReplyTo` and the author to mention and deliver to. An edge.

A post's `in-reply-to` may name one of our interaction pages (the blog answering a
comment that came from the fediverse), a fediverse post kept as an interaction, or any
URL whose AS2 document is a fediverse object. The last kind is fetched once, when the
post is published (`resolve`, signed GET, `Accept: application/activity+json`), and kept
in `remote_objects`, so that serving the post later (no network while serving) gives
the same `inReplyTo` as the pushed copy: `known` reads the database only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bridge.as2.ids import id_of
from bridge.as2.interaction import REPLY_TYPES
from bridge.core import urls as router
from bridge.core.clock import utcnow
from bridge.core.links import is_http_url
from bridge.models import Interaction, InteractionKind, RemoteObject
from bridge.net.fetch import FetchError
from bridge.net.remote import RemoteActors

log = logging.getLogger("bridge.reply_targets")


# What the blog can answer: a comment that has words and a post of its own (a reply, or a
# quote of one of our posts); a like or a boost has no post to answer.
ANSWERABLE = (InteractionKind.REPLY, InteractionKind.QUOTE)


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    object_id: str
    author: str | None  # the actor id, to mention and deliver to


async def known(base_url: str, urls: Iterable[str]) -> dict[str, ReplyTarget]:
    """The reply targets among `urls` the database knows, by URL as written."""
    out: dict[str, ReplyTarget] = {}
    for url in urls:
        route = router.parse(base_url, url)
        if isinstance(route, router.InteractionPage):
            row = await Interaction.filter(id=route.interaction_id, kind__in=ANSWERABLE).first()
        elif route is not None or router.is_ours(base_url, url):
            continue  # another URL of ours (a post's is resolved by the documents), or one never minted
        else:
            row = await Interaction.filter(url=url, kind__in=ANSWERABLE).first() or \
                await Interaction.filter(object_id=url, kind__in=ANSWERABLE).first()
        if row is not None:
            out[url] = ReplyTarget(row.object_id, row.actor_uri)
            continue
        remote = await RemoteObject.get_or_none(url=url)
        if remote is not None:
            out[url] = ReplyTarget(remote.object_id, remote.attributed_to)
    return out


async def resolve(remote: RemoteActors, base_url: str, urls: Iterable[str]) -> dict[str, ReplyTarget]:
    """`known`, plus the URLs fetched now as AS2 (those that are fediverse posts are kept)."""
    urls = list(urls)
    found = await known(base_url, urls)
    for url in urls:
        if url in found or not is_http_url(url) or router.is_ours(base_url, url):
            continue
        try:
            doc = await remote.fetch_document(url)
        except FetchError as exc:
            log.info("reply_target.unresolved url=%s error=%s", url, exc)
            continue
        object_id, kind = id_of(doc), doc.get("type")
        if not object_id or not isinstance(kind, str) or kind not in REPLY_TYPES:  # a list type: unhashable
            log.info("reply_target.unresolved url=%s reason=not a post (%s)", url, kind)
            continue
        author = id_of(doc.get("attributedTo")) or id_of(doc.get("actor"))
        await RemoteObject.update_or_create(defaults={"object_id": object_id, "type": str(kind),
                                                      "attributed_to": author, "fetched_at": utcnow()}, url=url)
        found[url] = ReplyTarget(object_id, author)
        log.info("reply_target.resolved url=%s object=%s author=%s", url, object_id, author)
    return found
