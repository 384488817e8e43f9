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
from bridge.core.clock import utcnow
from bridge.core.links import is_http_url
from bridge.models import Interaction, InteractionKind, RemoteObject
from bridge.net.fetch import FetchError
from bridge.net.remote import RemoteActors

log = logging.getLogger("bridge.reply_targets")

_PAGE_PREFIX = "/interactions/"


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    object_id: str
    author: str | None  # the actor id, to mention and deliver to


def _page_id(base_url: str, url: str) -> int | None:
    prefix = base_url + _PAGE_PREFIX
    rest = url[len(prefix):].split("?")[0].split("#")[0] if url.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


async def known(base_url: str, urls: Iterable[str]) -> dict[str, ReplyTarget]:
    """The reply targets among `urls` the database knows, by URL as written."""
    out: dict[str, ReplyTarget] = {}
    for url in urls:
        page = _page_id(base_url, url)
        query = Interaction.filter(id=page) if page is not None else Interaction.filter(url=url)
        row = await query.filter(kind=InteractionKind.REPLY).first()
        if row is None and page is None:
            row = await Interaction.filter(object_id=url, kind=InteractionKind.REPLY).first()
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
        if url in found or not is_http_url(url) or url.startswith(base_url + "/"):
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
