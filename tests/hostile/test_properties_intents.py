"""Property tests of the remote-interaction lookup's pure part (bridge/public/intents.py):
whatever a reader types and whatever template a server gives, the answer is a reason or an
http(s) URL on the template's own terms that carries our URI, never an exception or a
redirect somewhere else."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.public.intents import (
    CREATE_REL,
    FOLLOW,
    FOLLOW_REL,
    OBJECT,
    OBJECT_REL,
    BadAccount,
    interaction_url,
    is_safe_redirect,
    parse_account,
    templates_of,
)
from bridge.public.webfinger import SUBSCRIBE_REL

ACTOR = "https://bridge.example/users/blog"
RELS = (SUBSCRIBE_REL, FOLLOW_REL, OBJECT_REL, CREATE_REL)
HANDLE_CHARS = st.sampled_from("abcAZ09_.-@:/[]%#?\\ \t\n\u0430\u00e9\u202e\x00")


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(HANDLE_CHARS, max_size=40)))
def test_parse_account_gives_a_reader_or_a_reason(text: str) -> None:
    try:
        reader = parse_account(text)
    except BadAccount as exc:
        assert exc.reason
        return
    assert reader.host and reader.host == reader.host.lower() and reader.host.isascii()
    assert not any(c in reader.host for c in "/?#@\\ \t\n\x00")
    assert reader.user is None or not any(c in reader.user for c in "/?#@: \t\n\x00")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80), st.sampled_from([FOLLOW, OBJECT]), st.sampled_from(RELS))
def test_a_template_gives_an_http_url_carrying_the_uri_or_nothing(template: str, kind: str, rel: str) -> None:
    for candidate in ("https://s.example/" + template, template):
        found = interaction_url({rel: candidate}, kind, ACTOR)
        if found is None:
            continue
        assert is_safe_redirect(found[1]) and urlsplit(found[1]).scheme in ("http", "https")
        assert quote(ACTOR, safe="") in found[1]
        if candidate.startswith("https://s.example/"):
            assert found[1].startswith("https://s.example/")


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
                        ["links", "rel", "template", "href", *RELS]), inner, max_size=4), max_leaves=20))
def test_any_json_is_read_as_a_jrd_without_failing(document: object) -> None:
    for rel, template in templates_of(document).items():
        assert isinstance(rel, str) and isinstance(template, str)
