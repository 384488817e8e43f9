"""The router of our own URLs (bridge/core/urls.py): every URL we build parses back to what
built it, and anything we could not have minted is "not ours" (None), never an exception
and never another row: `²`, `١`, `01`, a 25-digit id, another origin, a prefix of ours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.core import urls

BASE = "https://bridge.example"
ACTOR = urls.actor_id(BASE, "blog")


def test_every_url_we_build_parses_back_to_its_route() -> None:
    assert urls.parse(BASE, ACTOR) == urls.Actor("blog")
    assert urls.parse(BASE, urls.key_id(ACTOR)) == urls.Actor("blog")  # the fragment names the actor
    assert urls.parse(BASE, urls.key_id(ACTOR, ed25519=True)) == urls.Actor("blog")
    for which in urls.COLLECTIONS:
        assert urls.parse(BASE, urls.actor_collection(ACTOR, which)) == urls.Collection("blog", which)
    post = urls.post_object_id(ACTOR, 42)
    assert urls.parse(BASE, post) == urls.PostObject("blog", 42)
    assert urls.parse(BASE, urls.activity_id(post, "create")) == urls.PostActivity("blog", 42, "create", None)
    assert urls.parse(BASE, urls.activity_id(post, "delete")) == urls.PostActivity("blog", 42, "delete", None)
    assert urls.parse(BASE, urls.activity_id(post, "update", "0123456789ab")) == \
        urls.PostActivity("blog", 42, "update", "0123456789ab")
    permalink = "https://blog.example/2026/12/a post/?p=1&x=ü#top"
    assert urls.parse(BASE, urls.post_lookup(ACTOR, permalink)) == urls.PostLookup("blog", permalink)
    assert urls.parse(BASE, urls.interaction_page(BASE, 7)) == urls.InteractionPage(7)
    assert urls.parse(BASE, urls.instance_actor_id(BASE)) == urls.InstanceActor()
    assert urls.parse(BASE, urls.shared_inbox(BASE)) == urls.Endpoint(urls.SHARED_INBOX_PATH)
    assert urls.parse(BASE, urls.ping_endpoint(BASE)) == urls.Endpoint(urls.PING_PATH)
    assert urls.parse(BASE, urls.interaction_page(BASE, urls.MAX_ID)) == urls.InteractionPage(urls.MAX_ID)
    assert urls.parse(BASE, "HTTPS://Bridge.Example/users/blog") == urls.Actor("blog")  # scheme and host: any case


@pytest.mark.parametrize("url", [
    f"{BASE}/interactions/9999999999999999999999999",  # past BIGINT: OverflowError in the job, retried 2 days
    f"{BASE}/interactions/{urls.MAX_ID + 1}",
    f"{BASE}/interactions/١",  # an Arabic-Indic one: int() reads it as 1
    f"{BASE}/interactions/01",  # int() reads it as 1 too
    f"{BASE}/interactions/²",  # str.isdigit() takes it, int() refuses it
    f"{BASE}/interactions/0",
    f"{BASE}/interactions/-1",
    f"{BASE}/interactions/1/",
    f"{BASE}/interactions/",
    f"{BASE}/users/blog/posts/²",
    f"{BASE}/users/blog/posts/007",
    f"{BASE}/users/blog/posts/1/update/zzzzzzzzzzzz",
    f"{BASE}/users/blog/posts/1/delete/extra",
    f"{BASE}/users/Blog",  # names are lower-case
    f"{BASE}/users/blog/elsewhere",
    f"{BASE}/users/blog/posts",  # a lookup without its url
    "https://bridge.example.evil/users/blog",  # a prefix match would call it ours
    "https://evil.example/users/blog",
    "http://bridge.example/users/blog",  # another scheme, another origin
    "not a url",
    "",
])
def test_what_we_never_minted_is_not_ours(url: str) -> None:
    assert urls.parse(BASE, url) is None


@pytest.mark.parametrize(("text", "minimum", "expected"), [
    ("1", 1, 1), ("9223372036854775807", 1, urls.MAX_ID), ("9223372036854775808", 1, None), ("0", 1, None),
    ("0", 0, 0), ("00", 0, None), ("01", 1, None), ("١", 1, None), ("²", 1, None), (" 1", 1, None), ("1e3", 1, None),
    ("", 1, None), ("-1", 0, None),
])
def test_ids_are_ascii_digits_within_bigint(text: str, minimum: int, expected: int | None) -> None:
    assert urls.parse_id(text, minimum=minimum) == expected


@given(st.text(max_size=40))
def test_parse_never_raises_and_ids_it_returns_fit_a_bigint(tail: str) -> None:
    route = urls.parse(BASE, f"{BASE}/{tail}")
    for value in (getattr(route, "interaction_id", None), getattr(route, "post_id", None)):
        assert value is None or 0 < value <= urls.MAX_ID


def test_is_ours_compares_the_origin_not_a_prefix() -> None:
    assert urls.is_ours(BASE, f"{BASE}/anything")
    assert not urls.is_ours(BASE, "https://bridge.example.evil/x")
    assert not urls.is_ours(BASE, "https://bridge.example:8443/x")
