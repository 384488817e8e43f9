"""Content warnings, Article previews (FEP-b2b8) and link previews (FEP-8967), and the quote
policy each post names (FEP-044f), as bridge/publish/documents.py builds a blog's post.
Fedify reads the same properties back in tests/test_fedify_account.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bridge.as2.previews import content_warning, dress
from bridge.as2.quotes import interaction_policy, may_quote, quoted_of
from bridge.as2.vocab import PUBLIC
from bridge.blog.post import Media, Post
from bridge.config import BlogConfig
from bridge.publish.documents import blog_post_as2

BASE = "https://bridge.example"
ACTOR = f"{BASE}/users/blog"
BLOG = BlogConfig(name="blog", url="https://blog.example/")


def post(**fields: object) -> Post:
    values: dict[str, object] = {"url": "https://blog.example/p/", "title": "Spoiled",
                                 "content_html": "<p>The butler did it.</p>",
                                 "published": datetime(2026, 1, 2, tzinfo=UTC)}
    values.update(fields)
    return Post(**values)  # type: ignore[arg-type]


def build(blog: BlogConfig, item: Post) -> dict[str, object]:
    return blog_post_as2(BASE, blog, item, object_id=f"{ACTOR}/posts/1", language="en")


def test_a_label_the_operator_names_is_the_warning_as_the_blog_spells_it() -> None:
    item = post(categories=("Books",), tags=("Spoilers", "mystery"))
    assert content_warning(item, ["spoilers"]) == "Spoilers"
    assert content_warning(item, ["MYSTERY", "spoilers"]) == "Spoilers"  # the post's order decides
    assert content_warning(item, []) is None and content_warning(item, ["nsfw"]) is None


def test_a_sensitive_note_folds_behind_its_label_and_a_plain_one_does_not() -> None:
    blog = replace(BLOG, post_style="note", sensitive_labels=("spoilers",))
    folded = build(blog, post(tags=("Spoilers",)))
    assert folded["type"] == "Note" and folded["sensitive"] is True and folded["summary"] == "Spoilers"
    plain = build(blog, post(tags=("Books",)))
    assert plain["sensitive"] is False and "summary" not in plain
    hostile = build(replace(blog, sensitive_labels=("<b>x</b>",)), post(tags=("<b>x</b>",)))
    assert hostile["summary"] == "&lt;b&gt;x&lt;/b&gt;"  # AS2 summary is HTML: the label is text


def test_an_article_keeps_its_excerpt_and_its_preview_carries_the_warning() -> None:
    blog = replace(BLOG, post_style="article", sensitive_labels=("spoilers",))
    featured = Media(url="https://blog.example/cover.jpg", alt="A cover")
    obj = build(blog, post(tags=("Spoilers",), featured=featured))
    assert obj["type"] == "Article" and obj["sensitive"] is True
    assert obj["summary"] == "The butler did it."  # Mastodon shows an Article's summary as its excerpt
    preview = obj["preview"]
    assert isinstance(preview, dict)
    assert preview["type"] == "Note" and preview["summary"] == "Spoilers" and preview["sensitive"] is True
    assert preview["content"] == ('<p><strong>Spoiled</strong></p><p>The butler did it.</p>'
                                  '<p><a href="https://blog.example/p/">https://blog.example/p/</a></p>')
    assert preview["attachment"] == [{"type": "Image", "url": featured.url, "mediaType": "image/jpeg",
                                      "name": "A cover"}]
    assert obj["image"] == preview["attachment"][0]  # type: ignore[index]
    assert not [a for a in obj["attachment"] if a["type"] == "Link"]  # type: ignore[union-attr]


def test_a_note_attaches_its_permalink_as_the_link_preview_after_its_media() -> None:
    blog = replace(BLOG, post_style="note")
    obj = build(blog, post(photos=(Media(url="https://blog.example/a.png"),)))
    kinds = [(a["type"], a.get("href") or a.get("url")) for a in obj["attachment"]]  # type: ignore[union-attr]
    assert kinds == [("Image", "https://blog.example/a.png"), ("Link", "https://blog.example/p/")]
    link = obj["attachment"][-1]  # type: ignore[index]
    assert link["preview"] == {"type": "Article", "name": "Spoiled", "summary": "The butler did it.",
                               "image": {"type": "Image", "url": "https://blog.example/a.png", "mediaType": "image/png"}}
    assert dress({"type": "Note", "attributedTo": ACTOR}, Post(url=None)) == {"type": "Note", "attributedTo": ACTOR}


@pytest.mark.parametrize(("policy", "approved"), [
    ("public", [PUBLIC]), ("followers", [f"{ACTOR}/followers"]), ("nobody", [ACTOR])])
def test_every_post_names_its_quote_policy_as_mastodon_does(policy: str, approved: list[str]) -> None:
    obj = build(replace(BLOG, quote_policy=policy), post())
    assert obj["interactionPolicy"] == {"canQuote": {"automaticApproval": approved}}
    assert "interactionPolicy" in obj["@context"][1] and "canQuote" in obj["@context"][1]  # type: ignore[index]


def test_who_may_quote_and_what_a_post_quotes() -> None:
    assert may_quote("public", is_follower=False) and may_quote("followers", is_follower=True)
    assert not may_quote("followers", is_follower=False) and not may_quote("nobody", is_follower=True)
    with pytest.raises(ValueError, match="unknown quote policy"):
        interaction_policy("friends", actor=ACTOR, followers=f"{ACTOR}/followers")
    target = f"{ACTOR}/posts/1"
    for name in ("quote", "quoteUrl", "_misskey_quote", "quoteUri"):
        assert quoted_of({name: target}) == target
    assert quoted_of({"quote": [{"id": target}], "quoteUrl": "https://elsewhere.example/"}) == target
    assert quoted_of({"content": "no quote"}) is None
