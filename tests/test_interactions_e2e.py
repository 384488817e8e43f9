"""Done-when of issue 7, end to end on 127.0.0.1 with independent implementations:
- Fedify (npm, tests/peers/fedify-commenter.mjs) replies to a bridged post, likes it,
  boosts it, answers a reply (a thread), edits and deletes its reply, undoes its like;
- django-wm (PyPI, tests/wmreceiver), the blog's webmention endpoint, records each
  webmention; its own parse of our page gives the type, the author's name, photo and
  profile URL; the content is read back with mf2py (the parser django-wm itself uses);
- the blog answers back: a comment page on the blog in reply to an interaction page,
  sent to the bridge as a webmention (`bridge webmention send`), reaches the fediverse
  author as a Note `inReplyTo` the reply, mentioning them, and the followers; a blog post
  whose `u-in-reply-to` is a fediverse post does the same when published.
Fedify verifies the bridge's signatures before reporting what it received.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import mf2py
from aiohttp.test_utils import TestServer

from bridge.app import make_app, new_http_session
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.jobs.kinds import Poll
from bridge.jobs.store import JobContext
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionState,
    Job,
    RemoteObject,
    WebmentionState,
)
from bridge.publish.record import Change, publish_now

from .blogserver import BlogServer
from .fedi import NODE, PEERS, require_node_peers
from .test_fedify_follower import BLOG, SEED, Follower_
from .wmreceiver import WmReceiver

SEED_PATH = "/2019/06/12/binge-learning-certificates/"


class Commenter(Follower_):
    @classmethod
    async def start(cls, blog_actor: str) -> tuple[Commenter, str]:
        """tests/peers/fedify-commenter.mjs for the blog's actor, ready; and its origin."""
        proc = await asyncio.create_subprocess_exec(
            str(NODE), str(PEERS / "fedify-commenter.mjs"), json.dumps({"blog": blog_actor}), cwd=str(PEERS),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        fedify = cls(proc)
        await until(lambda: any("ready" in x for x in fedify.lines) or proc.returncode is not None, "Fedify")
        [ready] = [x for x in fedify.lines if "ready" in x]
        return fedify, ready["ready"]

    async def do(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        count = len([line for line in self.lines if line.get("sent") == command["do"]])
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        await until(lambda: len([x for x in self.lines if x.get("sent") == command["do"]]) > count or any(
            "error" in x for x in self.lines), f"Fedify to send {command}")
        assert not [x for x in self.lines if "error" in x], self.lines
        return [x for x in self.lines if x.get("sent") == command["do"]][-1]

    def creates(self, recipient: str | None) -> list[dict[str, Any]]:
        return [x["activity"] for x in self.received("Create") if x["recipient"] == recipient]


async def until(check: Callable[[], Any], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"waited in vain for {what}")
        await asyncio.sleep(0.1)


async def sent_times(object_id: str, times: int) -> Interaction:
    async def check() -> bool:
        row = await Interaction.get_or_none(object_id=object_id)
        return row is not None and row.webmentions_sent >= times and row.webmention_state is WebmentionState.SENT
    await until(check, f"webmention #{times} of {object_id}")
    return await Interaction.get(object_id=object_id)


def as_list(value: Any) -> list[Any]:
    """A JSON-LD compacted value: a single value is not wrapped in a list."""
    return value if isinstance(value, list) else [value]


def mentions_of(recorded: dict[str, Any], source: str) -> list[dict[str, Any]]:
    return [m for m in recorded["webmentions"] if m["source"] == source]


@dataclass
class E2E:
    """The bridge on 127.0.0.1 (workers on, polling off), the WordPress stand-in whose seed
    post's webmention endpoint is django-wm, the seed post published, and Fedify following."""

    config: Config
    path: Path  # the config file
    base: str
    actor: str
    object_id: str  # the seed post's
    receiver: WmReceiver
    blog: BlogServer
    fedify: Commenter
    origin: str  # Fedify's


@asynccontextmanager
async def e2e_world(tmp_path: Path, write_config: Callable[..., Path], port: int, *,
                    follower: str = "alice") -> AsyncIterator[E2E]:
    require_node_peers()
    base = f"http://127.0.0.1:{port}"
    path = write_config("[delivery]\nmax_post_age_days = 100000.0\n", base_url=base, blog_url=BLOG, name="e2e.toml")
    config = load_config(path, env={})
    actor = urls.actor_id(base, "blog")

    async def no_poll(job: Job, ctx: JobContext) -> None:
        """Posts come by publish_now here: a first poll would record them unannounced."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        wm_port = s.getsockname()[1]
    receiver = await WmReceiver(tmp_path, wm_port).start()
    blog = await BlogServer.wordpress("twentytwentyone").start()
    # The blog's webmention endpoint is django-wm: the first Link header wins (Webmention §3.1.2).
    blog.routes[(SEED_PATH, ())].headers.insert(0, ("Link", f'<{receiver.endpoint}>; rel="webmention"'))
    server = TestServer(make_app(config, handlers={Poll.KIND: no_poll}), port=port)
    await server.start_server()
    fedify: Commenter | None = None
    try:
        async with new_http_session(config) as session:
            assert await publish_now(session, config.blogs[0], SEED) is Change.NEW
        post = await BlogPost.get(url=SEED)
        fedify, origin = await Commenter.start(actor)
        await fedify.do(do="follow", **{"as": follower})
        await fedify.wait_for("Accept")
        yield E2E(config, path, base, actor, urls.post_object_id(actor, post.id), receiver, blog, fedify, origin)
    finally:
        if fedify is not None:
            await fedify.close()
        await server.close()
        await blog.stop()
        receiver.stop()


async def test_fedify_interactions_reach_a_django_wm_blog_and_the_blog_answers_back(
    tmp_path: Path, write_config: Callable[..., Path], free_port: int, database: Config, bridge_cmd: list[str],
    bridge_env: dict[str, str],
) -> None:
    async with e2e_world(tmp_path, write_config, free_port) as world:
        config, path, base, actor, object_id = world.config, world.path, world.base, world.actor, world.object_id
        receiver, blog, fedify, origin = world.receiver, world.blog, world.fedify, world.origin
        bob, alice = f"{origin}/users/bob", f"{origin}/users/alice"

        # A reply: recorded, its page up, django-wm told and its own parse right.
        hostile = '<p>Great <em>post</em>!</p><script>alert(1)</script><a href="javascript:alert(2)">x</a>'
        reply = await fedify.do(do="reply", note="n1", inReplyTo=object_id, content=hostile, **{"as": "bob"})
        bob_note = reply["object"]
        row = await sent_times(bob_note, 1)
        assert row.kind.value == "reply" and row.target_url == SEED and row.state is InteractionState.PUBLISHED
        assert row.webmention_endpoint == receiver.endpoint and row.webmention_status == 202
        page = urls.interaction_page(base, row.id)
        await receiver.process()
        [seen] = mentions_of(await receiver.recorded(), page)
        assert seen["target"] == SEED and seen["validated"] and seen["post_type"] == "reply"
        assert seen["hcard"] == {"name": "Bob Example", "avatar": f"{origin}/avatars/bob.png",
                                 "homepage": f"{origin}/@bob"}
        async with aiohttp.ClientSession() as http, http.get(page) as response:
            assert response.status == 200
            html = await response.text()
        [entry] = mf2py.parse(doc=html, url=page)["items"]
        assert entry["type"] == ["h-entry"] and entry["properties"]["in-reply-to"] == [SEED]
        content = entry["properties"]["content"][0]
        assert content["value"].split() == ["Great", "post!", "x"]
        assert content["html"] == '<p>Great <em>post</em>!</p><a rel="nofollow ugc noopener">x</a>' 
        assert "<script" not in html and "javascript:" not in html
        assert entry["properties"]["url"] == [page]  # answers come to us; the post is linked as "original"
        assert f'href="{origin}/@bob/n1"' in html

        # A like and a boost of the post.
        like = await fedify.do(do="like", id="l1", object=object_id, **{"as": "alice"})
        boost = await fedify.do(do="announce", id="a1", object=object_id, **{"as": "alice"})
        like_row, boost_row = await sent_times(like["id"], 1), await sent_times(boost["id"], 1)
        await receiver.process()
        recorded = await receiver.recorded()
        [liked] = mentions_of(recorded, urls.interaction_page(base, like_row.id))
        [boosted] = mentions_of(recorded, urls.interaction_page(base, boost_row.id))
        assert (liked["post_type"], boosted["post_type"]) == ("like", "repost")
        assert like_row.actor_uri == boost_row.actor_uri == alice
        assert liked["hcard"]["name"] == boosted["hcard"]["name"] == "Alice Liddell"
        assert liked["hcard"]["homepage"] == f"{origin}/@alice"

        # A thread: alice answers bob's reply; the page names both the parent page and the post.
        answer = await fedify.do(do="reply", note="t1", inReplyTo=bob_note, content="<p>Agreed, Bob.</p>",
                                 **{"as": "alice"})
        thread = await sent_times(answer["object"], 1)
        assert thread.parent_id == row.id and thread.target_url == SEED
        async with aiohttp.ClientSession() as http, http.get(urls.interaction_page(base, thread.id)) as response:
            props = mf2py.parse(doc=await response.text())["items"][0]["properties"]
        assert props["in-reply-to"] == [SEED, page]

        # An edit: re-rendered and told again.
        await fedify.do(do="update", note="n1", content="<p>Great post, edited.</p>", **{"as": "bob"})
        edited = await sent_times(bob_note, 2)
        assert edited.content == "<p>Great post, edited.</p>" and edited.edited is not None
        await receiver.process()
        assert len(mentions_of(await receiver.recorded(), page)) == 2

        # The blog answers bob on the blog: a comment page in reply to the interaction page,
        # sent to the bridge as a webmention by `bridge webmention send`.
        comment = f"{BLOG}comments/1/"
        blog.add(comment, comment_page(comment, page, "Thanks Bob, glad you liked it!"),
                 {"Content-Type": "text/html; charset=UTF-8"})
        done = await asyncio.to_thread(subprocess.run, [*bridge_cmd, "-c", str(path), "webmention", "send", comment, page],
                                       env=bridge_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"endpoint: {base}/webmention" in done.stdout and "status: 202" in done.stdout
        await until(lambda: fedify.creates("bob"), "the answer delivered to bob")
        [to_bob] = fedify.creates("bob")
        note = to_bob["object"]
        assert note["inReplyTo"] == bob_note and note["attributedTo"] == actor
        assert {"type": "Mention", "href": bob} in as_list(note["tag"]) and bob in as_list(note["cc"])
        assert "Thanks Bob" in note["content"]
        await until(lambda: [c for c in fedify.creates(None) if c["object"]["id"] == note["id"]],
                    "the answer delivered to the followers")

        # A blog post in reply to a fediverse post the bridge never saw: fetched as AS2 when
        # published, kept, and the post is delivered to its author (bob's own inbox).
        elsewhere = (await fedify.do(do="publish", note="p1", content="<p>Blogs are back.</p>", **{"as": "bob"}))["id"]
        reply_post = f"{BLOG}2026/11/24/re-bob/"
        blog.add(reply_post, comment_page(reply_post, elsewhere, "Replying to Bob from my blog."),
                 {"Content-Type": "text/html; charset=UTF-8"})
        async with new_http_session(config) as session:
            assert await publish_now(session, config.blogs[0], reply_post) is Change.NEW
        await until(lambda: [c for c in fedify.creates("bob") if c["object"].get("url") == reply_post],
                    "the blog post delivered to bob")
        [to_author] = [c for c in fedify.creates("bob") if c["object"].get("url") == reply_post]
        assert to_author["object"]["inReplyTo"] == elsewhere
        assert {"type": "Mention", "href": bob} in as_list(to_author["object"]["tag"])
        assert await RemoteObject.get(url=elsewhere, attributed_to=bob)
        async with aiohttp.ClientSession() as http:  # served as pushed: the same inReplyTo
            async with http.get(to_author["object"]["id"], headers={"Accept": "application/activity+json"}) as r:
                assert (await r.json())["inReplyTo"] == elsewhere

        # A delete: the page answers 410 and django-wm is told again (it finds the source gone).
        await fedify.do(do="delete", note="n1", **{"as": "bob"})
        gone = await sent_times(bob_note, 3)
        assert gone.state is InteractionState.DELETED
        async with aiohttp.ClientSession() as http, http.get(page) as response:
            assert response.status == 410
        # An undone like is withdrawn the same way.
        await fedify.do(do="undo", id="l1", **{"as": "alice"})
        await sent_times(like["id"], 2)
        await receiver.process()
        pending = {p["source"] for p in (await receiver.recorded())["pending"]}
        assert {page, urls.interaction_page(base, like_row.id)} <= pending  # "source not accessible": 410
        assert not [x for x in fedify.lines if "error" in x], fedify.lines


def comment_page(url: str, in_reply_to: str, text: str) -> bytes:
    """A comment (or a reply post) on the blog, marked up as WordPress's Webmention plugin does."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Comment</title></head>
<body><article class="h-entry">
<p>In reply to <a class="u-in-reply-to" href="{in_reply_to}">{in_reply_to}</a></p>
<div class="p-author h-card"><a class="u-url p-name" href="{BLOG}">Binge Learner</a></div>
<div class="e-content"><p>{text}</p></div>
<a class="u-url" href="{url}"><time class="dt-published" datetime="2026-11-24T06:00:00+00:00">today</time></a>
</article></body></html>""".encode()
