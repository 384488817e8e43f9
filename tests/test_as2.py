"""The pure translators of issue 4: posts → AS2 (as2.py, sanitize.py), the actor
(actor.py), WebFinger (webfinger.py), NodeInfo (nodeinfo.py), and post_from_dict."""

from __future__ import annotations

import html
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.as2 import posts as as2
from bridge.as2 import vocab
from bridge.as2.actor import actor_to_as2, summary_html
from bridge.blog.post import (
    Author,
    Media,
    Mention,
    Post,
    Profile,
    post_from_dict,
    post_to_dict,
    profile_from_dict,
    profile_to_dict,
)
from bridge.config import Config, parse_config
from bridge.core import urls
from bridge.core.sanitize import clean_html
from bridge.public.webfinger import ResourceError, account_to_jrd, find_account, host_meta_xrd

ACTOR = "https://bridge.example/users/blog"
OBJECT = f"{ACTOR}/posts/1"
BLOG = "https://blog.example/"
WHEN = datetime(2024, 5, 1, 12, 0, 30, 123456, tzinfo=UTC)


def note(**fields: object) -> Post:
    base: dict[str, object] = {"url": f"{BLOG}p/", "content_html": "<p>Hello.</p>", "published": WHEN, "language": "en-US"}
    return Post(**{**base, **fields})  # type: ignore[arg-type]


def to_as2(post: Post, **kwargs: object) -> dict:  # type: ignore[type-arg]
    return as2.post_to_as2(post, object_id=OBJECT, actor=ACTOR, blog_url=BLOG, **kwargs)  # type: ignore[arg-type]


def config(extra: str = "") -> Config:
    text = f'[server]\nbase_url = "https://bridge.example"\n[[blogs]]\nname = "blog"\nurl = "{BLOG}"\n{extra}'
    return parse_config(tomllib.loads(text), path=Path("/etc/bridge/config.toml"), env={})


# -- sanitising ------------------------------------------------------------------------


@pytest.mark.parametrize(("dirty", "clean"), [
    ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
    ("<style>p{}</style><p>x</p>", "<p>x</p>"),
    ('<iframe src="https://e.example/"></iframe><p>x</p>', "<p>x</p>"),
    ('<p onclick="x()" style="color:red" id="i">x</p>', "<p>x</p>"),
    ('<a href="javascript:alert(1)">j</a>', "<a>j</a>"),
    ('<a href=" JaVaScRiPt:alert(1)">j</a>', "<a>j</a>"),
    ('<a href="data:text/html,x">d</a>', "<a>d</a>"),
    ('<a href="/relative">r</a>', "<a>r</a>"),
    ('<img src="https://e.example/i.png" onerror="x()">', ""),
    ('<svg><script>x()</script></svg><p>y</p>', "<p>y</p>"),
    ('<a href="https://e.example/" class="u-url mention evil" rel="tag nofollow x" target="_blank">m</a>',
     '<a href="https://e.example/" class="u-url mention" rel="tag nofollow">m</a>'),
    ('<span class="h-card" translate="no">c</span>', '<span class="h-card" translate="no">c</span>'),
    ("<h2>T</h2><ul><li>i</li></ul><blockquote>q</blockquote><pre><code>c</code></pre>",
     "<h2>T</h2><ul><li>i</li></ul><blockquote>q</blockquote><pre><code>c</code></pre>"),
])
def test_the_sanitiser_keeps_only_the_allow_list(dirty: str, clean: str) -> None:
    assert clean_html(dirty) == clean


# -- posts ------------------------------------------------------------------------------


def test_a_note_never_has_a_summary_even_when_the_post_has_one() -> None:
    post = note(title="Title", summary="An excerpt the author wrote.")
    for style in ("note", "auto"):
        obj = to_as2(post, style=style)
        assert obj["type"] == "Note" and "summary" not in obj and "summaryMap" not in obj


def test_note_style_puts_the_title_first_in_bold_and_links_back() -> None:
    obj = to_as2(note(title="Big <news> & more"), style="note")
    assert obj["content"].startswith("<p><strong>Big &lt;news&gt; &amp; more</strong></p>\n<p>Hello.</p>")
    assert f'<p><a href="{BLOG}p/">{BLOG}p/</a></p>' in obj["content"]
    assert "name" not in obj


def test_article_style_has_name_a_plain_excerpt_and_the_full_content() -> None:
    body = "".join(f"<p>Sentence {n} with a <a href='https://x.example/{n}'>link</a> https://bare.example/{n} & more.</p>"
                   for n in range(40))
    obj = to_as2(note(title="A title", content_html=body), style="article")
    assert obj["type"] == "Article" and obj["name"] == "A title" and obj["nameMap"] == {"en": "A title"}
    assert "<" not in obj["summary"].replace("&lt;", "") and "http" not in obj["summary"]
    assert obj["summary"].startswith("Sentence 0 with a link &amp; more.") and obj["summary"].endswith("…")
    assert len(html.unescape(obj["summary"])) <= as2.SUMMARY_CHARS + 1
    assert obj["content"].count("<p>Sentence") == 40 and "<strong>A title" not in obj["content"]
    assert obj["url"] == f"{BLOG}p/"


@pytest.mark.parametrize(("title", "text", "expected"), [
    (None, "x" * 2000, "Note"),  # untitled: always a note
    ("Short", "x" * 400, "Note"),  # fits in one Mastodon post
    ("Long", "x" * 600, "Article"),
])
def test_auto_style_chooses_by_title_and_length(title: str | None, text: str, expected: str) -> None:
    assert to_as2(note(title=title, content_html=f"<p>{text}</p>"), style="auto")["type"] == expected


def test_audience_dates_and_language() -> None:
    obj = to_as2(note(updated=datetime(2024, 6, 1, tzinfo=UTC)), updated=datetime(2024, 7, 1, tzinfo=UTC))
    assert obj["to"] == [vocab.PUBLIC] and obj["cc"] == [f"{ACTOR}/followers"]
    assert obj["published"] == "2024-05-01T12:00:30Z"
    assert obj["updated"] == "2024-07-01T00:00:00Z"  # the later of the blog's and the bridge's
    assert obj["contentMap"] == {"en": obj["content"]}
    assert "updated" not in to_as2(note(updated=WHEN))  # not edited: no "edited" mark in Mastodon
    assert as2.language_key("pt-BR") == "pt" and as2.language_key("zh-tw") == "zh-TW" and as2.language_key("x y") is None
    assert "contentMap" not in to_as2(note(language=None))
    assert to_as2(note(language=None), language="de")["contentMap"] == {"de": to_as2(note())["content"]}


def test_hashtags_with_the_blogs_tag_pages_and_mastodon_names() -> None:
    post = note(categories=("Machine Learning", "Uncategorized", "Café"), tags=("deep learning", "2024", "café"),
                sources={"categories": "wp-rest"})
    obj = to_as2(post)
    tags = [t for t in obj["tag"] if t["type"] == "Hashtag"]
    assert tags == [
        {"type": "Hashtag", "href": f"{BLOG}category/machine-learning/", "name": "#MachineLearning"},
        {"type": "Hashtag", "href": f"{BLOG}category/cafe/", "name": "#Café"},
        {"type": "Hashtag", "href": f"{BLOG}tag/deep-learning/", "name": "#DeepLearning"},
    ]  # WordPress's placeholder category, a number-only tag and a repeat are left out
    assert obj["content"].endswith(
        f'<p><a href="{BLOG}category/machine-learning/" class="mention hashtag" rel="tag">#<span>MachineLearning</span></a> '
        f'<a href="{BLOG}category/cafe/" class="mention hashtag" rel="tag">#<span>Café</span></a> '
        f'<a href="{BLOG}tag/deep-learning/" class="mention hashtag" rel="tag">#<span>DeepLearning</span></a></p>')
    configured = to_as2(note(categories=("Ideas",)), tag_url="https://blog.example/topics/{tag}")
    assert configured["tag"][0]["href"] == "https://blog.example/topics/ideas"
    assert to_as2(note(categories=("Ideas",)))["tag"][0]["href"] == f"{BLOG}tag/ideas/"  # not WordPress


def test_mentions_are_tagged_addressed_and_marked_up_as_mastodon_does() -> None:
    body = '<p>Hi <a href="https://social.example/@alice">@alice</a> and <a href="https://x.example/@bob@y.example">@bob@y.example</a></p>'
    post = note(content_html=body, mentions=(Mention("https://social.example/@alice", "@alice"),
                                             Mention("https://x.example/@bob@y.example", "@bob@y.example")))
    obj = to_as2(post, mention_actors={"https://social.example/@alice": "https://social.example/users/alice"})
    assert [t for t in obj["tag"] if t["type"] == "Mention"] == [
        {"type": "Mention", "href": "https://social.example/users/alice", "name": "@alice@social.example"},
        {"type": "Mention", "href": "https://x.example/@bob@y.example", "name": "@bob@y.example"},
    ]
    assert obj["cc"] == [f"{ACTOR}/followers", "https://social.example/users/alice", "https://x.example/@bob@y.example"]
    assert ('<span class="h-card" translate="no"><a class="u-url mention" href="https://social.example/@alice">'
            "@alice</a></span>") in obj["content"]


def test_attachments_keep_four_supported_images_with_alt_text() -> None:
    photos = tuple(Media(url=f"{BLOG}{n}.{ext}", alt=f"alt {n}") for n, ext in enumerate(["svg", "jpg", "bmp", "png", "gif"]))
    post = note(featured=Media(url=f"{BLOG}hero.jpg", alt="hero", mime_type="image/jpeg"), photos=photos,
                videos=(Media(url=f"{BLOG}clip.mp4"),), audio=(Media(url=f"{BLOG}talk.mp3"),))
    attached = to_as2(post)["attachment"]
    assert [(a["type"], a["url"].rsplit("/", 1)[-1], a["mediaType"], a.get("name")) for a in attached] == [
        ("Image", "hero.jpg", "image/jpeg", "hero"), ("Image", "1.jpg", "image/jpeg", "alt 1"),
        ("Image", "3.png", "image/png", "alt 3"), ("Image", "4.gif", "image/gif", "alt 4")]
    only_media = to_as2(note(videos=(Media(url=f"{BLOG}clip.mp4"),), audio=(Media(url=f"{BLOG}t.mp3"),)))["attachment"]
    assert [(a["type"], a["mediaType"]) for a in only_media] == [("Video", "video/mp4"), ("Audio", "audio/mpeg")]


def test_images_leave_the_content_and_captions_stay() -> None:
    body = '<figure><img src="https://blog.example/a.jpg" alt="A"><figcaption class="wp-element-caption">Caption</figcaption></figure>'
    assert to_as2(note(content_html=body))["content"].startswith("<p>Caption</p>")


def test_in_reply_to_only_for_fediverse_posts_or_our_own() -> None:
    assert as2.reply_target(note(in_reply_to=("https://mastodon.example/@alice/112233",))) == "https://mastodon.example/@alice/112233"
    assert as2.reply_target(note(in_reply_to=("https://gts.example/@a/statuses/01HXYZ0ABCDEF0123456789ABC",)))
    assert as2.reply_target(note(in_reply_to=("https://misskey.example/notes/9abcdef123",)))
    assert as2.reply_target(note(in_reply_to=("https://example.net/2019/07/a-blog-post/",))) is None
    own = {f"{BLOG}first/": OBJECT}
    assert as2.reply_target(note(in_reply_to=(f"{BLOG}first",)), own) == OBJECT
    assert to_as2(note(), in_reply_to=OBJECT)["inReplyTo"] == OBJECT


def test_activities_have_stable_ids() -> None:
    obj = to_as2(note(updated=datetime(2024, 6, 1, tzinfo=UTC)))
    create, update = as2.create_to_as2(obj), as2.update_to_as2(obj, version="abcdef012345")
    assert create["id"] == urls.activity_id(OBJECT, "create") == f"{OBJECT}/create"
    assert update["id"] == f"{OBJECT}/update/abcdef012345"
    assert create["actor"] == update["actor"] == ACTOR
    assert create["object"]["id"] == update["object"]["id"] == OBJECT and "@context" not in create["object"]
    assert create["published"] == obj["published"] and update["published"] == obj["updated"]
    delete = as2.delete_to_as2(OBJECT, actor=ACTOR, deleted=WHEN, former_type="Note")
    assert delete["id"] == f"{OBJECT}/delete" and delete["object"] == {
        "id": OBJECT, "type": "Tombstone", "formerType": "Note", "deleted": "2024-05-01T12:00:30Z"}
    assert as2.post_version("0123456789abcdef") == "0123456789ab"


def test_post_and_profile_dicts_round_trip() -> None:
    post = note(title="T", author=Author(name="A", url=BLOG, photo=f"{BLOG}a.png"), categories=("c",), tags=("t",),
                photos=(Media(url=f"{BLOG}1.jpg", alt="one"),), featured=Media(url=f"{BLOG}f.jpg", mime_type="image/jpeg"),
                in_reply_to=("https://m.example/@a/1",), mentions=(Mention(url="https://m.example/@a", name="@a"),),
                updated=datetime(2024, 6, 1, tzinfo=UTC))
    again = post_from_dict(post_to_dict(post), {"title": "mf2"})
    assert again == post and again.sources == {"title": "mf2"}
    assert post_from_dict({"title": 3, "photos": "x", "published": "not a date"}) == Post()  # lenient
    profile = Profile(url=BLOG, name="N", icon=Media(url=f"{BLOG}i.png"), links=("https://x.example/",), language="en")
    assert profile_from_dict({**profile_to_dict(profile), "sources": {"name": "wp-rest"}}) == profile


# -- the actor, WebFinger -----------------------------------------------------------------


def test_a_bio_is_escaped_html() -> None:
    assert summary_html("a < b & c\nnext line\n\nnew paragraph") == "<p>a &lt; b &amp; c<br>next line</p><p>new paragraph</p>"
    assert summary_html("  ") is None


def test_actor_from_config_alone_is_complete() -> None:
    blog = config('display_name = "Maya"\navatar = "https://cdn.example/a.webp"\n').blogs[0]
    actor = actor_to_as2(blog, base_url="https://bridge.example", profile=None, public_key_pem="PEM")
    assert actor["name"] == "Maya" and actor["icon"] == {"type": "Image", "url": "https://cdn.example/a.webp",
                                                          "mediaType": "image/webp"}
    assert actor["publicKey"] == {"id": f"{ACTOR}#main-key", "owner": ACTOR, "publicKeyPem": "PEM"}
    assert actor["attachment"] == [{"type": "PropertyValue", "name": "Blog",
                                    "value": f'<a href="{BLOG}" rel="me nofollow noopener noreferrer">blog.example</a>'}]
    assert actor["attributionDomains"] == ["blog.example"] and actor["alsoKnownAs"] == []


def test_webfinger_resources() -> None:
    cfg = config('handle_domain = "blog.example"\n')
    account = find_account(cfg, "acct:blog@blog.example")
    assert account.subject == "acct:blog@blog.example" and account.actor == ACTOR
    assert find_account(cfg, "acct:blog@bridge.example").subject == "acct:blog@blog.example"
    assert find_account(cfg, "@blog@bridge.example").actor == ACTOR
    assert find_account(cfg, "acct:bridge.example@bridge.example").actor == "https://bridge.example/actor"
    for resource, status in ((None, 400), ("acct:", 400), ("acct:a b@bridge.example", 400), ("mailto", 400),
                             ("acct:blog@other.example", 404), ("https://bridge.example/users/other", 404)):
        with pytest.raises(ResourceError) as info:
            find_account(cfg, resource)
        assert info.value.status == status, resource
    jrd = account_to_jrd(account, base_url="https://bridge.example", rels=("self",))
    assert [link["type"] for link in jrd["links"]] == [vocab.AS2_CONTENT_TYPE, vocab.LD_CONTENT_TYPE]
    assert 'template="https://bridge.example/.well-known/webfinger?resource={uri}"' in host_meta_xrd("https://bridge.example")


def test_translators_import_no_aiohttp_and_no_tortoise() -> None:
    code = ("import sys; import bridge.as2.posts, bridge.as2.actor, bridge.public.webfinger, bridge.public.nodeinfo, bridge.core.sanitize; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'tortoise'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
