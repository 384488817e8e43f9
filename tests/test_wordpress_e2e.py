"""Issue 17's done-when, end to end on 127.0.0.1: a WordPress blog with the Webmention plugin
(tests/wpblog.py, faithful to what the plugin 5.3.3 did on a live install:
tests/fixtures/wordpress/webmention-plugin.md), the bridge, and Fedify (npm) as the fediverse.

1. a reply to a reply is threaded under its parent's comment (`?replytocom=` target);
2. the blogger's answer, written in WordPress's own comment form, reaches the fediverse
   author as a Note `inReplyTo` their post, attributed to the blog, mentioning them;
3. a deleted reply leaves the blog: the plugin ignores a 410, so it gets a tombstone it
   takes as an edit, and the comment keeps neither the words nor the name; an undone like
   leaves the facepile the same way;
4. a post trashed in WordPress is deleted on the fediverse by the next poll.
Fedify verifies the bridge's signatures before it reports what it received.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.app import make_app, new_http_session
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.jobs.kinds import Ping, Poll
from bridge.jobs.store import JobContext
from bridge.models import BlogPost, Interaction, Job, JobState, PostState
from bridge.publish.polling import poll_blog
from bridge.publish.record import Change, publish_now

from .fedi import require_node_peers
from .test_interactions_e2e import Commenter, as_list, sent_times, until
from .wpblog import WordPressBlog

WITHDRAWN = "This comment was deleted by its author."


async def test_threads_answers_deletions_and_trash_on_a_wordpress_blog(
    write_config: Callable[..., Path], free_port: int, database: Config,
) -> None:
    require_node_peers()
    wp = await WordPressBlog(approve_domains=("127.0.0.1",)).start()
    base = f"http://127.0.0.1:{free_port}"
    path = write_config("[delivery]\nmax_post_age_days = 100000.0\n", base_url=base, blog_url=wp.url, name="wp.toml")
    config = load_config(path, env={})
    actor = urls.actor_id(base, "blog")
    older = wp.add_post(slug="older", title="An older post", content_html="<p>Still here.</p>",
                        published=datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    post = wp.add_post(slug="hello", title="Hello fediverse", content_html="<p>Comments welcome.</p>",
                       published=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    async def no_poll(job: Job, ctx: JobContext) -> None:
        """The test polls by hand, at the moments it chooses."""

    server = TestServer(make_app(config, handlers={Poll.KIND: no_poll}), port=free_port)
    await server.start_server()
    fedify: Commenter | None = None
    try:
        async with new_http_session(config) as http:
            first = await poll_blog(http, config.blogs[0])  # the posts that were there before the bridge
            assert first.first_poll and first.count(Change.NEW) == 2
            await BlogPost.filter(url=post.permalink).update(announce=True)  # as if published after it
        row = await BlogPost.get(url=post.permalink)
        object_id = urls.post_object_id(actor, row.id)
        fedify, origin = await Commenter.start(actor)
        bob = f"{origin}/users/bob"
        await fedify.do(do="follow", **{"as": "alice"})
        await fedify.wait_for("Accept")

        # Bob replies: a comment, approved (the bridge's host is on the approve list), whose
        # meta url is our page, so the plugin answers come to us.
        reply = await fedify.do(do="reply", note="r1", inReplyTo=object_id, content="<p>Lovely post.</p>",
                                **{"as": "bob"})
        bob_row = await sent_times(reply["object"], 1)
        bob_page = urls.interaction_page(base, bob_row.id)
        [c1] = [c for c in wp.comments if c.meta.get("webmention_source_url") == bob_page]
        assert (c1.type, c1.parent, c1.approved, c1.author) == ("comment", 0, True, "Bob Example")
        assert c1.author_url == f"{origin}/@bob" and c1.meta["url"] == bob_page
        assert "Lovely post." in c1.content

        # 1. Alice answers Bob on the fediverse: threaded under Bob's comment on the blog.
        answer = await fedify.do(do="reply", note="t1", inReplyTo=reply["object"], content="<p>Agreed!</p>",
                                 **{"as": "alice"})
        alice_row = await sent_times(answer["object"], 1)
        assert alice_row.webmention_target == f"{post.permalink}?replytocom={c1.id}"
        [c2] = [c for c in wp.comments if c.meta.get("webmention_source_url") == urls.interaction_page(base, alice_row.id)]
        assert (c2.parent, c2.author, c2.type) == (c1.id, "Alice Liddell", "comment")

        # 2. The blogger answers Bob in WordPress's own form: the plugin sends the webmention,
        # the bridge takes it and Bob receives a Note in reply to his post, from the blog.
        mine, status, body = await wp.answer(c1.id, "Thank you, Bob!")
        assert status == 202, body
        await until(lambda: fedify.creates("bob"), "the blogger's answer delivered to bob")
        [to_bob] = fedify.creates("bob")
        note = to_bob["object"]
        assert note["inReplyTo"] == reply["object"] and note["attributedTo"] == actor
        assert {"type": "Mention", "href": bob} in as_list(note["tag"]) and "Thank you, Bob!" in note["content"]
        assert note["url"] == f"{post.permalink}#comment-{mine.id}"

        # The same comment page sent as an answer to Alice's comment, which it does not answer:
        # accepted (the source is the blog's), then ignored; nothing reaches Alice.
        async with aiohttp.ClientSession() as http:
            forged = {"source": f"{post.permalink}?replytocom={mine.id}",
                      "target": urls.interaction_page(base, alice_row.id)}
            async with http.post(f"{base}/webmention", data=forged) as response:
                assert response.status == 202
            elsewhere = {"source": "http://127.0.0.1:9/?replytocom=1", "target": forged["target"]}
            async with http.post(f"{base}/webmention", data=elsewhere) as response:
                assert response.status == 400  # not a page of the blog
        async def pings_done() -> bool:
            return await Job.filter(kind=Ping.KIND, state=JobState.DONE).count() == 2
        await until(pings_done, "both pings done")
        answer_row = await BlogPost.get(url=f"{post.permalink}#comment-{mine.id}")
        assert answer_row.data["in_reply_to"] == [bob_page] and await Job.filter(kind="publish").count() == 1
        assert fedify.creates("alice") == [] and len(fedify.creates("bob")) == 1

        # A like, to be undone below.
        like = await fedify.do(do="like", id="l1", object=object_id, **{"as": "alice"})
        like_row = await sent_times(like["id"], 1)
        [c3] = [c for c in wp.comments if c.meta.get("webmention_source_url") == urls.interaction_page(base, like_row.id)]
        assert (c3.type, c3.author) == ("like", "Alice Liddell")

        # 3. Bob deletes his reply: the plugin ignores 410, so the page it fetches is a tombstone,
        # taken as an edit of the same comment, approved as before, in the same thread.
        await fedify.do(do="delete", note="r1", **{"as": "bob"})
        await sent_times(reply["object"], 2)
        c1 = wp.comment(c1.id)
        assert c1.approved and c1.parent == 0 and WITHDRAWN in c1.content and "Lovely" not in c1.content
        grey = urls.withdrawn_avatar(base)
        assert c1.author == "(withdrawn)" and c1.author_url == bob_page and c1.meta["avatar"] == grey
        assert [r.status for r in wp.received if r.source == bob_page] == [200, 200]
        # Alice's answer stays, under the withdrawn comment.
        assert wp.comment(c2.id).parent == c1.id and "Agreed!" in wp.comment(c2.id).content
        # The undone like loses its name and face the same way.
        await fedify.do(do="undo", id="l1", **{"as": "alice"})
        await sent_times(like["id"], 2)
        assert wp.comment(c3.id).author == "(withdrawn)" and wp.comment(c3.id).meta["avatar"] == grey
        async with aiohttp.ClientSession() as http, http.get(grey) as response:  # the picture is served
            assert response.status == 200 and response.content_type == "image/svg+xml"

        # 4. The post is trashed in WordPress: the next poll finds it gone and the followers get a Delete.
        wp.trash(post.id)
        async with new_http_session(config) as http:
            report = await poll_blog(http, config.blogs[0])
        assert (Change.GONE, post.permalink) in [(c, u) for c, u, _ in report.changes]
        assert (await BlogPost.get(url=post.permalink)).state is PostState.GONE
        assert (await BlogPost.get(url=older.permalink)).state is PostState.LIVE
        # The blogger's answer is a post no feed lists: never taken for a missing one.
        assert (await BlogPost.get(url=f"{post.permalink}#comment-{mine.id}")).state is PostState.LIVE
        delete = await fedify.wait_for("Delete")
        assert delete["actor"] == actor and json.dumps(delete["activity"]["object"]).count(object_id) >= 1
        assert await Interaction.filter(blog="blog").count() == 3
        assert not [x for x in fedify.lines if "error" in x], fedify.lines
        async with new_http_session(config) as http:  # a re-publish by hand is no different
            assert await publish_now(http, config.blogs[0], post.permalink) is Change.UNCHANGED
    finally:
        if fedify is not None:
            await fedify.close()
        await server.close()
        await wp.stop()
