"""Each post's `replies` collection (issue 20 part 2), in Mastodon's shape: what Mastodon 4.5+
reads to show a whole thread (bridge/as2/replies.py, bridge/publish/replies.py,
bridge/public/replies.py).

It lists the fediverse's public and unlisted replies the blog shows (deeper ones in the
thread too) and the blog's own answers, oldest first, paged; never a held, private,
rejected or deleted reply, nor one to another post. Read over HTTP from the real app, and
by Fedify, the independent peer (tests/peers/fedify-replies.mjs), across pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bridge.app import make_app
from bridge.as2.replies import REPLIES_PAGE_SIZE
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionKind,
    InteractionState,
    Visibility,
)
from bridge.public.replies import REPLIES_MAX_AGE
from bridge.publish.record import mark_gone, record_post

from .fedi import Peer, require_node_peers, run_node
from .test_public import (
    ACTOR,
    AS2,
    BASE,
    BLOG,
    BROWSER,
    crafted,
    get_json,
    path_of,
    served,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # the post's date (test_public.crafted's)
ALICE = "https://social.example/users/alice"


async def blog_post(path: str, *, at: datetime = T0, in_reply_to: tuple[str, ...] = (), blog: str = "blog",
                    text: str = "Words.") -> BlogPost:
    """A post of ours, recorded as a poll records it."""
    read = crafted(f"{BLOG}{path}", content_html=f"<p>{text}</p>", in_reply_to=in_reply_to)
    await record_post(blog, replace(read, post=replace(read.post, published=at)))
    return await BlogPost.get(url=f"{BLOG}{path}")


async def reply(post: BlogPost, object_id: str, at: datetime, *, visibility: Visibility = Visibility.PUBLIC,
                state: InteractionState = InteractionState.PUBLISHED, parent: Interaction | None = None,
                kind: InteractionKind = InteractionKind.REPLY, url: str | None = None) -> Interaction:
    """A fediverse reply as bridge/inbox/interactions.py records it."""
    return await Interaction.create(
        blog=post.blog, kind=kind, object_id=object_id, url=url, actor_uri=ALICE, host="social.example",
        content="<p>a reply</p>", visibility=visibility, in_reply_to=urls.post_object_id(ACTOR, post.id),
        target_url=post.url, post_id=post.id, parent_id=parent.id if parent else None, state=state, published=at)


def object_id(post: BlogPost) -> str:
    return urls.post_object_id(ACTOR, post.id)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@dataclass
class Thread:
    post: BlogPost
    expected: list[str]  # the collection's ids, oldest first
    answers: dict[str, str]  # an answer's id → its inReplyTo


async def a_thread() -> Thread:
    """A post with every kind of reply the collection must list or leave out."""
    post = await blog_post("post/")
    other = await blog_post("other/", at=at(-2))
    status = f"{ALICE}/statuses"
    first = await reply(post, f"{status}/1", at(1), url="https://social.example/@alice/1")
    unlisted = await reply(post, f"{status}/2", at(2), visibility=Visibility.UNLISTED,
                           url="https://social.example/@alice/2")
    deeper = await reply(post, f"{status}/3", at(3), parent=first)  # a reply to a reply, in the thread
    held = await reply(post, f"{status}/4", at(1.5), state=InteractionState.HELD)
    await reply(post, f"{status}/5", at(1.6), visibility=Visibility.FOLLOWERS, state=InteractionState.PRIVATE)
    await reply(post, f"{status}/6", at(1.7), visibility=Visibility.DIRECT, state=InteractionState.PRIVATE)
    await reply(post, f"{status}/7", at(1.8), state=InteractionState.REJECTED)
    deleted = await reply(post, f"{status}/8", at(1.9), state=InteractionState.DELETED)
    await reply(post, f"{status}/9", at(2.5), visibility=Visibility.PUBLIC, kind=InteractionKind.LIKE)
    await reply(other, f"{status}/10", at(2.6))  # another post's
    # The blog's answers: to the post itself (a self-thread), to a comment through our page of it,
    # to a fediverse post by its page for people; and answers that must not show.
    to_post = await blog_post("answer-to-post/", at=at(0.5), in_reply_to=(post.url,))
    to_page = await blog_post("answer-to-page/", at=at(4), in_reply_to=(urls.interaction_page(BASE, first.id),))
    to_url = await blog_post("answer-to-url/", at=at(5), in_reply_to=("https://social.example/@alice/2",))
    await blog_post("answer-to-held/", at=at(6), in_reply_to=(urls.interaction_page(BASE, held.id),))
    await blog_post("answer-to-deleted/", at=at(6), in_reply_to=(urls.interaction_page(BASE, deleted.id),))
    await blog_post("answer-to-other/", at=at(6), in_reply_to=(other.url,))
    await blog_post("answer-to-no-url/", at=at(6), in_reply_to=("http://[",))  # urlsplit raises: skipped, no 500
    gone = await blog_post("answer-gone/", at=at(6), in_reply_to=(post.url,))
    await mark_gone("blog", gone.url)
    expected = [object_id(to_post), first.object_id, unlisted.object_id, deeper.object_id, object_id(to_page),
                object_id(to_url)]
    answers = {object_id(to_post): object_id(post), object_id(to_page): first.object_id,
               object_id(to_url): unlisted.object_id}
    return Thread(post, expected, answers)


# -- over HTTP -----------------------------------------------------------------------------


async def test_the_collection_lists_the_shown_replies_and_the_blogs_answers_oldest_first(
        write_config: Callable[..., Path], database: Config) -> None:
    async with served(write_config, theme=None) as (client, _):
        thread = await a_thread()
        post_id = object_id(thread.post)
        collection_url = urls.post_replies(post_id)
        response = await client.get(path_of(collection_url), headers=AS2)
        collection = json.loads(await response.text())
        page = await get_json(client, path_of(collection["first"]["id"]))
        post = await get_json(client, path_of(post_id))
    assert response.headers["Content-Type"] == AS2["Accept"]
    assert response.headers["Cache-Control"] == f"public, max-age={REPLIES_MAX_AGE}"
    assert response.headers["Access-Control-Allow-Origin"] == "*" and response.headers["Vary"] == "Accept"
    # Mastodon's shape: a Collection, its first CollectionPage embedded, unordered `items`.
    assert collection == {"@context": "https://www.w3.org/ns/activitystreams", "id": collection_url,
                          "type": "Collection",
                          "first": {"id": f"{collection_url}?page=1", "type": "CollectionPage",
                                    "partOf": collection_url, "items": thread.expected}}
    # The post object carries the same collection, as Mastodon reads it (the embedded page, not fetched).
    assert post["replies"] == {k: v for k, v in collection.items() if k != "@context"}
    # A page fetched at its id embeds the blog's answers whole, as Mastodon embeds its local statuses.
    assert page["id"] == f"{collection_url}?page=1" and page["type"] == "CollectionPage"
    assert page["partOf"] == collection_url and "next" not in page
    assert [item if isinstance(item, str) else item["id"] for item in page["items"]] == thread.expected
    embedded = {item["id"]: item for item in page["items"] if isinstance(item, dict)}
    assert set(embedded) == set(thread.answers)
    for answer, target in thread.answers.items():
        assert embedded[answer]["inReplyTo"] == target and embedded[answer]["attributedTo"] == ACTOR
        assert "@context" not in embedded[answer]  # the page's applies
        assert embedded[answer]["replies"]["id"] == urls.post_replies(answer)
    assert page["@context"][0] == "https://www.w3.org/ns/activitystreams"


async def test_an_answer_lists_the_replies_to_it_in_its_own_collection(
        write_config: Callable[..., Path], database: Config) -> None:
    """Mastodon walks the thread down through each item's own `replies`."""
    async with served(write_config, theme=None) as (client, _):
        post = await blog_post("post/")
        comment = await reply(post, f"{ALICE}/statuses/1", at(1))
        answer = await blog_post("answer/", at=at(2), in_reply_to=(urls.interaction_page(BASE, comment.id),))
        again = await reply(answer, f"{ALICE}/statuses/2", at(3))
        on_answer = await get_json(client, path_of(urls.post_replies(object_id(answer))))
        on_post = await get_json(client, path_of(urls.post_replies(object_id(post))))
    assert on_post["first"]["items"] == [comment.object_id, object_id(answer)]
    assert on_answer["first"]["items"] == [again.object_id]


async def test_pages_follow_one_another_to_the_last(write_config: Callable[..., Path], database: Config) -> None:
    async with served(write_config, theme=None) as (client, _):
        post = await blog_post("post/")
        ids = [(await reply(post, f"{ALICE}/statuses/{n}", at(1 + n / 60))).object_id
               for n in range(REPLIES_PAGE_SIZE + 3)]
        answer = await blog_post("answer/", at=at(100), in_reply_to=(post.url,))
        ids.append(object_id(answer))
        collection_url = urls.post_replies(object_id(post))
        collection = await get_json(client, path_of(collection_url))
        pages = [await get_json(client, path_of(collection["first"]["id"]))]
        while "next" in pages[-1]:
            pages.append(await get_json(client, path_of(pages[-1]["next"])))
        beyond = await get_json(client, path_of(urls.post_replies_page(object_id(post), 3)))
        served_post = await get_json(client, path_of(object_id(post)))
    assert len(pages) == 2
    assert collection["first"]["items"] == ids[:REPLIES_PAGE_SIZE]
    assert collection["first"]["next"] == pages[0]["next"] == f"{collection_url}?page=2"
    assert [p["partOf"] for p in pages] == [collection_url, collection_url]
    assert pages[1]["id"] == f"{collection_url}?page=2" and "next" not in pages[1]
    assert [i if isinstance(i, str) else i["id"] for p in pages for i in p["items"]] == ids
    assert pages[1]["items"][-1]["type"] == "Note"  # our answer, embedded on the last page
    assert beyond["items"] == [] and "next" not in beyond
    assert served_post["replies"] == {k: v for k, v in collection.items() if k != "@context"}


async def test_what_is_not_a_post_of_ours_is_404_and_a_gone_post_410(
        write_config: Callable[..., Path], database: Config) -> None:
    async with served(write_config, theme=None) as (client, _):
        post = await blog_post("post/")
        await reply(post, f"{ALICE}/statuses/1", at(1))
        gone = await blog_post("gone/")
        await mark_gone("blog", gone.url)
        statuses = {}
        for path in (f"/users/blog/posts/{post.id + 100}/replies", f"/users/nobody/posts/{post.id}/replies",
                     "/users/blog/posts/0/replies", f"/users/blog/posts/0{post.id}/replies",
                     "/users/blog/posts/²/replies", f"/users/blog/posts/{post.id}/replies?page=0",
                     f"/users/blog/posts/{post.id}/replies?page=x"):
            statuses[path] = (await client.get(path, headers=AS2)).status
        tomb = await get_json(client, f"/users/blog/posts/{gone.id}/replies", status=410)
        browser = await client.get(f"/users/blog/posts/{post.id}/replies", headers={"Accept": BROWSER},
                                   allow_redirects=False)
    assert list(statuses.values()) == [404, 404, 404, 404, 404, 400, 400]
    assert tomb["type"] == "Tombstone" and tomb["id"] == urls.post_replies(object_id(gone))
    assert browser.status == 302 and browser.headers["Location"] == post.url


def test_the_router_reads_replies_urls_back() -> None:
    post = urls.post_object_id(ACTOR, 42)
    assert urls.post_replies(post) == f"{ACTOR}/posts/42/replies"
    assert urls.parse(BASE, urls.post_replies(post)) == urls.PostReplies("blog", 42, None)
    assert urls.parse(BASE, urls.post_replies_page(post, 3)) == urls.PostReplies("blog", 42, 3)
    for never in ("?page=0", "?page=", "?page=01", "?page=²", "/", "/1"):
        assert urls.parse(BASE, urls.post_replies(post) + never) is None, never
    assert urls.parse(BASE, f"{ACTOR}/posts/01/replies") is None


# -- read by Fedify, the independent peer --------------------------------------------------


async def fedify_replies(task: dict[str, str]) -> dict[str, Any]:
    return await run_node("fedify-replies.mjs", task)


async def test_fedify_reads_every_reply_across_the_pages(
        write_config: Callable[..., Path], free_port: int, database: Config) -> None:
    require_node_peers()
    base = f"http://127.0.0.1:{free_port}"
    actor = urls.actor_id(base, "blog")
    config = load_config(write_config(base_url=base, blog_url=BLOG, name="fedify.toml"), env={})
    remote = await Peer.start()  # the fediverse's replies live there, so Fedify can fetch each
    server = TestServer(make_app(config, workers=False), port=free_port)
    await server.start_server()
    try:
        post = await blog_post("post/")
        expected: list[str] = []
        kept: list[Interaction] = []
        first = await blog_post("first-answer/", at=at(0.5), in_reply_to=(post.url,))
        expected.append(urls.post_object_id(actor, first.id))
        for n in range(REPLIES_PAGE_SIZE + 2):
            note_id = remote.url(f"/users/alice/statuses/{n}")
            remote.serve(f"/users/alice/statuses/{n}", {
                "@context": "https://www.w3.org/ns/activitystreams", "id": note_id, "type": "Note",
                "attributedTo": remote.url("/users/alice"), "content": f"<p>reply {n}</p>",
                "inReplyTo": urls.post_object_id(actor, post.id),
                "to": ["https://www.w3.org/ns/activitystreams#Public"]})
            kept.append(await reply(post, note_id, at(1 + n / 60)))
            expected.append(note_id)
        await reply(post, remote.url("/users/alice/statuses/held"), at(2), state=InteractionState.HELD)
        await reply(post, remote.url("/users/alice/statuses/private"), at(2), visibility=Visibility.FOLLOWERS,
                    state=InteractionState.PRIVATE)
        last = await blog_post("last-answer/", at=at(50), in_reply_to=(urls.interaction_page(base, kept[3].id),))
        expected.append(urls.post_object_id(actor, last.id))
        seen = await fedify_replies({"post": urls.post_object_id(actor, post.id)})
    finally:
        await server.close()
        await remote.close()

    collection = urls.post_replies(urls.post_object_id(actor, post.id))
    assert seen["post"]["replies"] == collection
    assert seen["collection"] == {"id": collection, "kind": "Collection", "first": f"{collection}?page=1"}
    assert [p["kind"] for p in seen["pages"]] == ["CollectionPage", "CollectionPage"]
    assert [p["id"] for p in seen["pages"]] == [f"{collection}?page=1", f"{collection}?page=2"]
    assert [p["partOf"] for p in seen["pages"]] == [collection, collection]
    assert [p["next"] for p in seen["pages"]] == [f"{collection}?page=2", None]
    assert [i for p in seen["pages"] for i in p["items"]] == expected
    assert [i["id"] for i in seen["traversed"]] == expected  # every item dereferenced or parsed, in order
    assert {i["kind"] for i in seen["traversed"]} == {"Note"}
    assert seen["traversed"][0]["inReplyTo"] == urls.post_object_id(actor, post.id)
    assert seen["traversed"][-1]["inReplyTo"] == kept[3].object_id
