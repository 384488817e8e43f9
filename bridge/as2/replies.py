"""A post's `replies` collection, in the shape Mastodon serves and reads (pure).

Mastodon 4.5+ reads a post's `replies` to show the whole thread (on page load, and again
every 15 minutes while it is looked at: ActivityPub::FetchAllRepliesWorker), so a reader
on one server sees the replies from every other one, and the blog's own answers.

The shape is Mastodon's (app/serializers/activitypub/note_serializer.rb `replies`,
app/controllers/activitypub/replies_controller.rb, collection_serializer.rb):
- the post object carries `replies`: a `Collection` with an id (`OBJECT/replies`) and its
  `first` page embedded, a `CollectionPage` with `partOf`, `items` (ids, as Mastodon lists
  even its own statuses there) and `next` when there is more. Mastodon reads that embedded
  page as it is (JsonLdHelper#collection_items takes a Hash `first` without fetching it),
  then follows `next` on the post's own host (`reference_uri`);
- a page fetched by its id lists fediverse replies by id and embeds our own answers as
  whole objects, as Mastodon embeds its local statuses (`status.local? ? status : status.uri`);
- `items`, not `orderedItems`: an unordered Collection, as Mastodon's. No `totalItems`
  (Mastodon gives none for replies).
Ours differ in two ways, both allowed by AS2 and read by Mastodon: the embedded first
page has its id (Mastodon's has none), and pages are numbered (`?page=N`, from 1) rather
than a `min_id` cursor, because the items come from two tables (the fediverse's replies
and the blog's answers) merged by date; oldest first, so a new reply joins the last page
and the earlier pages stay as they were (a reply withdrawn meanwhile shifts the later ones
by one: the next refresh reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from bridge.core.urls import post_replies, post_replies_page

# Items per page: Mastodon's ActivityPub::RepliesController::DESCENDANTS_LIMIT (60).
REPLIES_PAGE_SIZE = 60

T = TypeVar("T")


def page_of(items: Sequence[T], page: int, size: int = REPLIES_PAGE_SIZE) -> tuple[list[T], bool]:
    """Page `page` (from 1) of `items`, and whether a later page has any."""
    start = (page - 1) * size
    return list(items[start:start + size]), len(items) > start + size


def replies_page_to_as2(object_id: str, page: int, items: Sequence[str | dict[str, Any]], *,
                        more: bool) -> dict[str, Any]:
    """Page `page` of the replies of the post `object_id` (no @context: embedded or wrapped by the caller).
    `items`: reply ids, or objects embedded whole; `more`: whether page `page + 1` has items."""
    doc: dict[str, Any] = {"id": post_replies_page(object_id, page), "type": "CollectionPage"}
    if more:
        doc["next"] = post_replies_page(object_id, page + 1)
    doc["partOf"] = post_replies(object_id)
    doc["items"] = list(items)
    return doc


def replies_to_as2(object_id: str, first: Sequence[str], *, more: bool) -> dict[str, Any]:
    """The `replies` of the post `object_id`: the Collection with its first page (`first`: its
    items' ids) embedded, as the post object carries it and as the collection's id serves it."""
    return {"id": post_replies(object_id), "type": "Collection",
            "first": replies_page_to_as2(object_id, 1, first, more=more)}
