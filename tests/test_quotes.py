"""Quotes of our posts (issue 20, part 1; FEP-044f as Mastodon 4.5 speaks it), through the
inbox job flow: a QuoteRequest approved under the blog's `quote_policy` (an Accept whose
`result` is a QuoteAuthorization served at its id) or refused (a Reject); a quote kept as a
mention for the blog; quotes sent without asking (Misskey); a deleted post revoking its
authorizations. Fedify plays the other side in tests/test_fedify_2026.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mf2py
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app, new_http_session
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.jobs.kinds import Deliver, Publish
from bridge.jobs.store import JobContext
from bridge.models import (
    BlogPost,
    Follower,
    FollowState,
    Interaction,
    InteractionKind,
    InteractionState,
    Job,
    PostState,
)
from bridge.publish.fanout import publish_job

from .test_interaction_flow import (
    ALICE,
    BASE,
    MALLORY,
    PUBLIC,
    TARGET,
    arrive,
    webmention_jobs,
    world,
)

BLOG = f"{BASE}/users/blog"
POST = f"{BLOG}/posts/1"


def quoting(n: int, actor: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {"id": f"{actor}/statuses/q{n}", "type": "Note", "attributedTo": actor, "quote": POST,
            "content": f'<p>So true.</p><p class="quote-inline">RE: <a href="{TARGET}">{TARGET}</a></p>',
            "to": [PUBLIC], "cc": [f"{actor}/followers"], **extra}


def request(n: int, actor: str = ALICE, instrument: Any = None) -> dict[str, Any]:
    return {"@context": ["https://www.w3.org/ns/activitystreams", {"QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest"}],
            "id": f"{actor}/quote_requests/{n}", "type": "QuoteRequest", "actor": actor, "object": POST,
            "instrument": quoting(n, actor) if instrument is None else instrument}


async def answers() -> list[dict[str, Any]]:
    return [j.payload["activity"] for j in await Job.filter(kind=Deliver.KIND).order_by("id") if j.payload.get("activity")]


async def served(config: Any) -> TestClient:
    client = TestClient(TestServer(make_app(config, workers=False)))
    await client.start_server()
    return client


async def test_a_quote_request_is_accepted_with_an_authorization_anyone_can_fetch(
        write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, request(1))
        quote = await Interaction.get(object_id=f"{ALICE}/statuses/q1")
        assert quote.kind is InteractionKind.QUOTE and quote.state is InteractionState.PUBLISHED
        assert (quote.target_url, quote.post_id, quote.in_reply_to) == (TARGET, 1, POST)
        assert len(await webmention_jobs()) == 1  # the blog hears of it, as a mention
        [accept] = await answers()
        authorization = urls.quote_authorization(BLOG, quote.id)
        assert accept["type"] == "Accept" and accept["actor"] == BLOG and accept["result"] == authorization
        assert accept["object"] == {"id": f"{ALICE}/quote_requests/1", "type": "QuoteRequest", "actor": ALICE,
                                    "object": POST, "instrument": f"{ALICE}/statuses/q1"}
        assert (await Job.get(kind=Deliver.KIND)).payload["inbox"] == f"{ALICE}/inbox"

        # The request again (a retry, or asked twice): one quote, the same authorization.
        await arrive(config, request(1) | {"id": f"{ALICE}/quote_requests/1b"})
        assert await Interaction.filter(kind=InteractionKind.QUOTE).count() == 1
        assert {a["result"] for a in await answers()} == {authorization}

        client = await served(config)
        try:
            response = await client.get(authorization.removeprefix(BASE), headers={"Accept": "application/activity+json"})
            assert response.status == 200
            doc = await response.json(content_type=None)
            assert doc["type"] == "QuoteAuthorization" and doc["id"] == authorization
            assert (doc["attributedTo"], doc["interactingObject"], doc["interactionTarget"]) == (
                BLOG, f"{ALICE}/statuses/q1", POST)
            assert "QuoteAuthorization" in doc["@context"][1] and "interactingObject" in doc["@context"][1]
            for missing in (f"{BLOG}/quote_authorizations/99", f"{BASE}/users/nobody/quote_authorizations/{quote.id}",
                            f"{BLOG}/quote_authorizations/01"):
                assert (await client.get(missing.removeprefix(BASE))).status == 404

            # The page the blog fetches: a mention of the post, with the quote's words.
            page = await client.get(f"/interactions/{quote.id}")
            entry = mf2py.parse(doc=await page.text())["items"][0]
            assert entry["properties"]["mention-of"] == [TARGET] and "in-reply-to" not in entry["properties"]
            assert entry["properties"]["content"][0]["value"].startswith("So true.")

            # The quote withdrawn by its author: the authorization no longer stands.
            await arrive(config, {"id": f"{ALICE}/statuses/q1#delete", "type": "Delete", "actor": ALICE,
                                  "object": f"{ALICE}/statuses/q1"})
            assert (await client.get(authorization.removeprefix(BASE))).status == 404
        finally:
            await client.close()


async def test_the_quote_policy_decides_and_a_refusal_is_a_reject(write_config: Callable[..., Path]) -> None:
    async with world(write_config, 'quote_policy = "followers"\n') as config:
        await arrive(config, request(1))
        [reject] = await answers()
        assert reject["type"] == "Reject" and reject["object"]["id"] == f"{ALICE}/quote_requests/1"
        assert "result" not in reject and not await Interaction.exists(kind=InteractionKind.QUOTE)

        await Follower.create(blog="blog", actor_uri=ALICE, inbox=f"{ALICE}/inbox", follow_id=f"{ALICE}#f",
                              state=FollowState.ACCEPTED, accepted_at=utcnow())
        await arrive(config, request(2))
        assert [a["type"] for a in await answers()] == ["Reject", "Accept"]


async def test_with_quote_policy_nobody_even_a_follower_is_refused(write_config: Callable[..., Path]) -> None:
    async with world(write_config, 'quote_policy = "nobody"\n') as config:
        await Follower.create(blog="blog", actor_uri=ALICE, inbox=f"{ALICE}/inbox", follow_id=f"{ALICE}#f",
                              state=FollowState.ACCEPTED, accepted_at=utcnow())
        await arrive(config, request(3))
        assert [a["type"] for a in await answers()] == ["Reject"]


async def test_a_request_that_does_not_hold_together_is_not_answered(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        # The instrument quotes another post; is someone else's; lives on another host; quotes nothing of ours.
        await arrive(config, request(1, instrument=quoting(1, quote="https://elsewhere.example/p/1")))
        await arrive(config, request(2, instrument=quoting(2, actor=MALLORY)))
        await arrive(config, request(3, instrument="https://elsewhere.example/statuses/q3"))
        await arrive(config, request(4) | {"object": "https://elsewhere.example/p/1"})
        assert await answers() == [] and not await Interaction.exists(kind=InteractionKind.QUOTE)


async def test_a_quote_sent_without_asking_is_a_mention_and_gets_no_authorization(
        write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        misskey = {k: v for k, v in quoting(7).items() if k != "quote"} | {"_misskey_quote": POST, "quoteUrl": POST}
        await arrive(config, {"id": f"{ALICE}/statuses/q7/activity", "type": "Create", "actor": ALICE,
                              "object": misskey})
        quote = await Interaction.get(object_id=f"{ALICE}/statuses/q7")
        assert quote.kind is InteractionKind.QUOTE and quote.target_url == TARGET and await answers() == []
        client = await served(config)
        try:
            assert (await client.get(f"/users/blog/quote_authorizations/{quote.id}")).status == 404
        finally:
            await client.close()
        # Its edit keeps it a quote.
        await arrive(config, {"id": f"{ALICE}/statuses/q7/update", "type": "Update", "actor": ALICE,
                              "object": misskey | {"content": "<p>Edited.</p>"}})
        quote = await Interaction.get(id=quote.id)
        assert quote.kind is InteractionKind.QUOTE and quote.content == "<p>Edited.</p>"


async def test_deleting_the_post_revokes_its_quotes_authorizations(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, request(1))
        quote = await Interaction.get(object_id=f"{ALICE}/statuses/q1")
        authorization = urls.quote_authorization(BLOG, quote.id)
        await BlogPost.filter(id=1).update(state=PostState.GONE, gone_at=utcnow())
        spec = Publish("blog", 1, "gone")
        job = await Job.create(kind=Publish.KIND, payload=spec.payload(), run_after=utcnow())
        async with new_http_session(config) as http:
            await publish_job(spec, job, JobContext(config=config, http=http))
        revoke = (await answers())[-1]
        assert revoke == {"@context": revoke["@context"], "id": f"{authorization}#delete", "type": "Delete",
                          "actor": BLOG, "to": [PUBLIC], "cc": [ALICE], "object": authorization}
        delivery = (await Job.filter(kind=Deliver.KIND).order_by("-id").first())
        assert delivery is not None and delivery.payload["inbox"] == f"{ALICE}/inbox"
        client = await served(config)
        try:
            assert (await client.get(authorization.removeprefix(BASE))).status == 404
        finally:
            await client.close()
