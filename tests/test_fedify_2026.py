"""Done-when of issue 20, end to end on 127.0.0.1 with independent implementations: Fedify
(tests/peers/fedify-commenter.mjs) speaks today's fediverse to the bridge, django-wm
(tests/wmreceiver) is the blog's webmention endpoint:
- a quote request (FEP-044f) is answered with an Accept whose QuoteAuthorization Fedify can
  fetch, the quote reaches the blog as a mention, and deleting the post revokes it (a Delete
  of the authorization, which then no longer resolves);
- an EmojiReact reaches the blog as a reaction (a reacji: a reply whose content is the emoji);
- a group's Announce of a member's reply (FEP-1b12) becomes a comment by the member;
- a follower's Move (FEP-7628) is carried over: the next post goes to the new account;
- every activity the bridge sends carries an integrity proof (FEP-8b32) Fedify verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.app import new_http_session
from bridge.config import Config
from bridge.core import urls
from bridge.models import Follower, InteractionKind
from bridge.publish.record import Change, mark_gone, publish_now

from .test_fedify_follower import BLOG, SEED
from .test_interactions_e2e import as_list, e2e_world, mentions_of, sent_times, until

SEED_PATH = "/2019/06/12/binge-learning-certificates/"
OTHER = f"{BLOG}2019/06/28/a-wall-of-certificates/"


def compact_id(value: Any) -> str | None:
    """An id from Fedify's compacted JSON-LD: a string, or an object with `id`."""
    value = as_list(value)[0] if value is not None else None
    return value if isinstance(value, str) or value is None else value.get("id")


async def test_fedify_quotes_reacts_relays_moves_and_verifies_proofs(
    tmp_path: Path, write_config: Callable[..., Path], free_port: int, database: Config,
) -> None:
    async with e2e_world(tmp_path, write_config, free_port, follower="bob") as world:
        config, base, actor, object_id = world.config, world.base, world.actor, world.object_id
        receiver, fedify = world.receiver, world.fedify
        bob, bobby = f"{world.origin}/users/bob", f"{world.origin}/users/bobby"

        # A quote: accepted with an authorization Fedify fetches; the blog hears a mention.
        sent = await fedify.do(do="quote", note="q1", quote=object_id, content="<p>Worth reading, this.</p>",
                               **{"as": "bob"})
        quote_note = f"{bob}/notes/q1"
        await until(lambda: [a for a in fedify.received("Accept") if compact_id(a["activity"].get("result"))],
                    "the Accept of the quote request")
        [accepted] = [a for a in fedify.received("Accept") if compact_id(a["activity"].get("result"))]
        assert accepted["recipient"] == "bob" and compact_id(accepted["activity"]["object"]) == sent["id"]
        authorization = compact_id(accepted["activity"]["result"])
        fetched = await fedify.do(do="fetch", url=authorization)
        seen = [x for x in fedify.lines if x.get("fetched") == authorization][-1]
        assert seen["kind"] == "QuoteAuthorization", seen
        assert compact_id(seen["doc"]["interactingObject"]) == quote_note
        assert compact_id(seen["doc"]["interactionTarget"]) == object_id
        assert compact_id(seen["doc"]["attributedTo"]) == actor and fetched
        quote = await sent_times(quote_note, 1)
        assert quote.kind is InteractionKind.QUOTE and quote.actor_uri == bob
        await receiver.process()
        [mention] = mentions_of(await receiver.recorded(), urls.interaction_page(base, quote.id))
        assert mention["target"] == SEED and mention["validated"] and mention["post_type"] in (None, "")

        # An emoji reaction: a reacji, a reply whose whole content is the emoji.
        react = await fedify.do(do="react", id="r1", object=object_id, emoji="🎉", **{"as": "alice"})
        reaction = await sent_times(react["id"], 1)
        assert reaction.kind is InteractionKind.LIKE and reaction.data["emoji"] == "🎉"
        await receiver.process()
        [reacji] = mentions_of(await receiver.recorded(), urls.interaction_page(base, reaction.id))
        assert reacji["post_type"] == "reply" and reacji["validated"]

        # A group relays bob's reply: a comment by bob, read back from bob's server.
        await fedify.do(do="relay", by="bob", note="g1", inReplyTo=object_id, content="<p>Said in the club.</p>",
                        **{"as": "club"})
        relayed = await sent_times(f"{bob}/notes/g1", 1)
        assert relayed.kind is InteractionKind.REPLY and relayed.actor_uri == bob
        assert relayed.author_name == "Bob Example" and relayed.content == "<p>Said in the club.</p>"

        # bob moves to bobby: the follow is carried over, and the next post goes to bobby.
        await fedify.do(do="move", to="bobby", **{"as": "bob"})
        await until(lambda: Follower.exists(actor_uri=bobby), "the follow carried over to bobby")
        assert not await Follower.exists(actor_uri=bob)
        async with new_http_session(config) as session:
            assert await publish_now(session, config.blogs[0], OTHER) is Change.NEW
        await until(lambda: fedify.creates("bobby"), "the next post delivered to bobby")

        # The post deleted: the quote's authorization is revoked and no longer resolves.
        await mark_gone("blog", SEED, reason="test")
        await until(lambda: [d for d in fedify.received("Delete") if compact_id(d["activity"]["object"]) == authorization],
                    "the Delete of the authorization")
        await fedify.do(do="fetch", url=authorization)
        assert [x for x in fedify.lines if x.get("fetched") == authorization][-1]["kind"] is None

        # Every activity the bridge sent carried a proof Fedify verified (FEP-8b32).
        received = [x for x in fedify.lines if "received" in x]
        assert len(received) >= 5 and {x["received"] for x in received} >= {"Accept", "Create", "Delete"}
        assert [x["proof"] for x in received] == [True] * len(received), received
