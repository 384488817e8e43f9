"""Property-based tests (hypothesis) of the two parsers added with interactions and
webmentions, in the style of tests/hostile/test_properties.py: whatever the input, an
answer or our own error type, never an unhandled exception.

- AS2 → interaction (bridge/as2/interaction.py): activity and object dicts where every field
  may hold the wrong type (a list where a string is expected, a number for a date, a
  dict for an id…); the readers answer an `Interaction` or raise ValueError.
- Webmention endpoint discovery (bridge/webmention/discovery.py): generated Link headers and
  HTML; the answer is None or an absolute string, never an exception.
Examples are bounded (`FAST`): the file runs in a few seconds."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.as2.interaction import Interaction, reaction_from_as2, reply_from_as2, visibility_of
from bridge.webmention.discovery import discover_endpoint, rels

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACTOR = "https://social.example/users/alice"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
urls = st.sampled_from(["https://social.example/notes/1", "https://blog.example/p/", "http://[::1]/x", "https://[",
                        "https://a.example:99999/", "", "as:Public", "https://www.w3.org/ns/activitystreams#Public",
                        ACTOR + "/followers", "javascript:alert(1)", "https://x.example/\x00"])
# A field: a plausible value of the right type, of a wrong type, or nested wrongness.
url_field = st.one_of(urls, st.lists(urls | json_values, max_size=3),
                      st.fixed_dictionaries({}, optional={"id": urls | json_values, "href": urls | json_values,
                                                          "type": json_values, "mediaType": json_values}),
                      json_values)
text_field = st.one_of(st.text(max_size=40), st.dictionaries(st.sampled_from(["en", "de", ""]), json_values, max_size=3),
                       json_values)
date_field = st.one_of(st.sampled_from(["2025-01-02T03:04:05Z", "2025-13-40T99:99:99Z", "yesterday", "",
                                        "2025-01-02T03:04:05+99:00", "9999999-01-01T00:00:00Z"]), json_values)
tag_field = st.one_of(st.lists(st.one_of(st.fixed_dictionaries({}, optional={"type": st.sampled_from(["Mention",
                                                                                                     "Hashtag", "Emoji"]) | json_values,
                                                                              "href": url_field, "name": text_field}),
                                         json_values), max_size=4), json_values)
OBJECT_FIELDS = {"type": st.sampled_from(["Note", "Article", "Question", "Page", "Image"]) | json_values,
                 "id": url_field, "inReplyTo": url_field, "url": url_field, "content": text_field,
                 "contentMap": text_field, "summary": text_field, "published": date_field, "updated": date_field,
                 "tag": tag_field, "attachment": st.one_of(st.lists(url_field, max_size=3), json_values),
                 "to": url_field, "cc": url_field, "attributedTo": url_field}
objects = st.fixed_dictionaries({}, optional=OBJECT_FIELDS)
ACTIVITY_FIELDS = {"type": st.sampled_from(["Like", "EmojiReact", "Announce", "Create", "Undo"]) | json_values,
                   "id": url_field, "object": st.one_of(url_field, objects), "actor": url_field,
                   "content": text_field, "_misskey_reaction": text_field, "published": date_field,
                   "to": url_field, "cc": url_field}
activities = st.fixed_dictionaries({}, optional=ACTIVITY_FIELDS)


def _check(result: Interaction) -> None:
    assert result.kind in ("reply", "like", "repost")
    assert result.visibility in ("public", "unlisted", "followers", "direct")
    assert isinstance(result.object_id, str) and result.object_id
    result.extras()  # JSON-ready: what the database keeps


@FAST
@given(objects, st.one_of(st.none(), activities))
def test_reply_from_generated_objects(obj: dict[str, Any], activity: dict[str, Any] | None) -> None:
    try:
        result = reply_from_as2(obj, ACTOR, activity)
    except ValueError:
        return
    _check(result)


@FAST
@given(activities)
def test_reaction_from_generated_activities(activity: dict[str, Any]) -> None:
    try:
        result = reaction_from_as2(activity, ACTOR)
    except ValueError:
        return
    _check(result)


@FAST
@given(st.fixed_dictionaries({}, optional={"to": url_field, "cc": url_field}), st.one_of(st.none(), urls))
def test_visibility_of_generated_addressing(doc: dict[str, Any], followers: str | None) -> None:
    assert visibility_of(doc, ACTOR, followers) in ("public", "unlisted", "followers", "direct")


# -- webmention endpoint discovery

hrefs = st.one_of(st.sampled_from(["", "/wm", "wm?x=1&y=2", "https://wm.example/e", "http://[::1", "http://[zz]/",
                                   "//[", "https://a.example:99999/", "javascript:alert(1)", " /spaced ", "\x00",
                                   "https://\u00e9.example/", "#frag", "?q"]),
                  st.text(max_size=30))
rel_values = st.one_of(st.sampled_from(["webmention", "WebMention", "nofollow webmention", "webmention2", "",
                                        "http://webmention.org/", "\"webmention\""]), st.text(max_size=20))
link_headers = st.one_of(
    st.builds(lambda h, r, extra: f'<{h}>; rel="{r}"{extra}', hrefs, rel_values,
              st.sampled_from(["", "; type=text/html", ', <x>; rel="other"', ";", ";;rel", ', <', '; rel=webmention'])),
    st.builds(lambda h, r: f"<{h}>; rel={r}", hrefs, rel_values),
    st.text(max_size=80),
)


def _element(tag: str, rel: str, href: str | None, quote: str) -> str:
    attrs = f" rel={quote}{rel}{quote}" + (f" href={quote}{href}{quote}" if href is not None else "")
    return f"<{tag}{attrs}>" + ("" if tag == "link" else "x</a>")


html_parts = st.one_of(
    st.builds(_element, st.sampled_from(["link", "a", "A", "LINK", "area", "base"]), rel_values,
              st.none() | hrefs, st.sampled_from(['"', "'", ""])),
    st.sampled_from(["<!--", "-->", "<script>", "</script>", "<textarea>", "</textarea>", "<title>", "<![CDATA[",
                     "]]>", "<style>", "&lt;a rel=webmention href=/x&gt;", "<a", "<", "&", "&#0;", "&#x110000;",
                     "<!doctype html>", "<svg><a rel=webmention href=/s></a></svg>", "\x00", "</a>", "<?xml ?>"]),
    st.text(max_size=40),
)
pages = st.builds("".join, st.lists(html_parts, max_size=8))
base_urls = st.sampled_from(["https://blog.example/p/1", "https://blog.example", "http://127.0.0.1:9/x?y=1",
                             "https://[::1]/", "https://b.example/a/b/c/"])
content_types = st.one_of(st.none(), st.sampled_from(["text/html", "text/html; charset=utf-8", "TEXT/HTML",
                                                      "application/xhtml+xml", "application/json", "text/plain", ""]),
                          st.text(max_size=20))


@FAST
@given(base_urls, st.lists(link_headers, max_size=3), st.one_of(st.none(), pages), content_types)
def test_endpoint_discovery_answers_an_absolute_url_or_none(final: str, links: list[str], html: str | None,
                                                            content_type: str | None) -> None:
    endpoint = discover_endpoint(final, links, html, content_type)
    assert endpoint is None or isinstance(endpoint, str)


@FAST
@given(st.one_of(st.none(), st.text(max_size=40)))
def test_rel_tokens(value: str | None) -> None:
    assert all(token == token.lower() for token in rels(value))
