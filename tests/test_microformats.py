"""Microformats, metaformats and content cleaning: real WordPress pages and hand-written cases."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.blog import content, hcard, merge, metaformats, microformats
from bridge.blog.post import Author, Media, Mention, Post, post_type
from bridge.publish import reader

FIXTURES = Path(__file__).parent / "fixtures"
WP = FIXTURES / "wordpress"
MF2 = FIXTURES / "mf2"
THEMES = ("twentytwentyone", "twentytwentythree")


def manifest(theme: str) -> dict[str, Any]:
    return json.loads((WP / theme / "manifest.json").read_text())


def pages(kind: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    return [(theme, f) for theme in THEMES for f in manifest(theme)["files"]
            if f["file"].endswith(".html") and (kind is None or f["page_kind"] == kind)]


def page(theme: str, name: str, url: str) -> microformats.Mf2Page:
    return microformats.parse_page((WP / theme / name).read_text(encoding="utf-8"), url)


def hand(name: str, url: str) -> microformats.Mf2Page:
    return microformats.parse_page((MF2 / name).read_text(encoding="utf-8"), url)


def _normalised(value: Any) -> Any:
    """mf2 JSON with whitespace-only runs between tags in e-* html collapsed."""
    if isinstance(value, dict):
        return {k: (re.sub(r">\s+<", "><", v).strip() if k == "html" and isinstance(v, str)
                    else _normalised(v)) for k, v in value.items() if k != "debug"}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


@pytest.mark.parametrize(("theme", "entry"), pages(), ids=lambda v: v if isinstance(v, str) else v["file"])
def test_lxml_parse_equals_default_parser(theme: str, entry: dict[str, Any]) -> None:
    """The fast path (lxml) finds the same microformats as mf2py's default html5lib parser.

    The only difference is whitespace between block elements inside e-* html (lxml
    keeps one newline where html5lib keeps the source's "\\n\\n\\n\\n").
    """
    html = (WP / theme / entry["file"]).read_text(encoding="utf-8")
    default = microformats.parse_with(html, entry["url"])
    fast = microformats.parse_with(html, entry["url"], "lxml")
    assert _normalised(fast) == _normalised(default)
    assert json.dumps(fast["items"]).count("h-entry") == json.dumps(default["items"]).count("h-entry")


# --- WordPress pages -------------------------------------------------------------------

SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"


def test_classic_theme_entry_is_the_post_not_a_comment() -> None:
    p = page("twentytwentyone", "post-seed.html", SEED)
    post = microformats.post_from_mf2(p)
    assert post is not None and post.sources == {"_": "mf1"}
    assert post.title == "Binge-learning certificates"
    assert content.text_of(post.content_html or "").startswith("On May 8th of 2019")
    assert "Thirty days" not in (post.content_html or "")  # the webmention replies are not content
    # The first h-card on the page is the commenter Alex Rivera: never the author.
    author, follow = hcard.entry_author(p)
    assert author is None
    assert follow == "http://127.0.0.1:8765/author/maya/"  # rel=author, to fetch
    assert hcard.representative_hcard(p) is None


def test_classic_theme_mf1_fixes() -> None:
    tagged = microformats.post_from_mf2(page(
        "twentytwentyone", "post-tagged.html",
        "http://127.0.0.1:8765/2019/07/03/what-five-courses-taught-me-about-learning/"))
    assert tagged is not None
    # Names, not the slugs mf1 backcompat gives ("machine-learning", "deep-learning").
    assert tagged.categories == ("Learning", "Machine Learning")
    assert tagged.tags == ("certificates", "coursera", "deep learning", "study habits")
    # One <time class="published updated"> is no evidence of an update.
    assert tagged.updated is None
    assert tagged.published == datetime.fromisoformat("2019-07-03T10:00:00-04:00")
    assert tagged.published.isoformat() == "2019-07-03T10:00:00-04:00"

    reply = microformats.post_from_mf2(page(
        "twentytwentyone", "post-reply.html",
        "http://127.0.0.1:8765/2019/07/12/re-are-mooc-certificates-worth-anything/"))
    assert reply is not None
    # mf2py ignores mf2 classes inside an mf1 root; read from the content instead.
    assert reply.in_reply_to == ("https://example.net/2019/07/are-mooc-certificates-worth-anything/",)
    assert post_type(reply) == "reply"


def test_classic_theme_untitled_placeholder_is_rejected_by_the_merge() -> None:
    p = page("twentytwentyone", "post-status.html", "http://127.0.0.1:8765/2019/06/20/6/")
    entry = microformats.post_from_mf2(p)
    assert entry is not None and entry.title == "Untitled"  # what the theme prints
    merged = merge.merge_posts([entry, *metaformats.posts_from_meta(p.soup, p.url, site="Binge Learner")],
                               page_title=metaformats.document_title(p.soup))
    assert merged.title is None  # <title> is only "Binge Learner": the name was a placeholder
    assert "Sequence Models" in (merged.content_html or "")


def test_classic_theme_home_hfeed_permalinks() -> None:
    p = page("twentytwentyone", "home.html", "http://127.0.0.1:8765/")
    name, author, posts = microformats.feed_entries(p)
    truth = json.loads((WP / "truth.json").read_text())
    titled = {t["permalink"]: t["title"] for t in truth["posts"] if t["status"] == "publish" and t["title"]}
    # The title link has no rel=bookmark; the hAtom entry-title link is the permalink.
    assert {post.url: post.title for post in posts if post.url} == titled
    assert all(post.sources == {"_": "feed"} for post in posts)


@pytest.mark.parametrize(("theme", "entry"), pages("post"), ids=lambda v: v if isinstance(v, str) else v["file"])
def test_block_theme_post_pages_have_no_entry(theme: str, entry: dict[str, Any]) -> None:
    p = page(theme, entry["file"], entry["url"])
    post = microformats.post_from_mf2(p)
    if theme == "twentytwentythree":
        assert post is None
        metas = metaformats.posts_from_meta(p.soup, p.url, site="Binge Learner")
        by_source = {m.sources["_"]: m for m in metas}
        assert set(by_source) == {"meta", "rel-canonical"}
        assert by_source["rel-canonical"].url == entry["url"]
        title = json.loads(entry["truth"])["title"] if isinstance(entry["truth"], str) else entry["truth"]["title"]
        assert by_source["meta"].title == (title or None)
    else:
        assert post is not None and post.sources == {"_": "mf1"}


# --- hand-written mf2 ------------------------------------------------------------------

def test_note() -> None:
    post = microformats.post_from_mf2(hand("note.html", "https://jo.example/notes/2024/05/01/1"))
    assert post is not None and post.sources == {"_": "mf2"}
    assert post.title is None and "title" in post.empty
    assert post.content_html == "<p>Just had the <em>best</em> croissant in town.</p>"
    assert post.url == "https://jo.example/notes/2024/05/01/1"
    assert post.published is not None and post.published.isoformat() == "2024-05-01T08:30:00+02:00"
    assert post.author == Author(name="Jo", url="https://jo.example/")
    assert post.language == "fr"
    assert post_type(post) == "note"


def test_article_with_explicit_uid_url_categories_author_photo() -> None:
    p = hand("article.html", "https://jo.example/2024/ferns")
    post = microformats.post_from_mf2(p)
    assert post is not None
    assert post.title == "Ferns I have known"
    assert post.summary == "A short tour of the ferns in my garden."
    assert post.url == "https://jo.example/2024/ferns"
    assert post.uid == "https://jo.example/2024/ferns"
    assert post.published and post.published.isoformat() == "2024-04-02T10:00:00-05:00"
    assert post.updated and post.updated.isoformat() == "2024-04-09T18:45:00-05:00"
    assert post.categories == ("gardening", "ferns", "slow living")
    assert post.author == Author(name="Jo Example", url="https://jo.example/",
                                 photo="https://jo.example/me.jpg")
    # Relative URLs in the content are absolute, images keep their alt text.
    assert 'href="https://jo.example/tags/ferns"' in (post.content_html or "")
    assert post.photos == (Media(url="https://jo.example/2024/images/fern.jpg", alt="A fern unrolling"),)
    assert post.mentions == (Mention(url="https://social.example/@alice", name="@alice"),)
    assert post.language == "en-GB"
    assert post_type(post) == "article"
    # The page's other h-card (the site owner) is not the author.
    author, follow = hcard.entry_author(p)
    assert author == post.author and follow is None


def test_reply_is_the_post_not_its_comments() -> None:
    post = microformats.post_from_mf2(hand("reply.html", "https://jo.example/replies/7"))
    assert post is not None
    assert post.url == "https://jo.example/replies/7"
    assert post.in_reply_to == ("https://other.example/posts/42",)
    assert content.text_of(post.content_html or "") == "Totally agree with this."
    assert post.published and post.published.isoformat() == "2024-05-02T09:00:00+00:00"
    assert post_type(post) == "reply"


def test_reply_page_without_url_match_skips_the_top_level_comment() -> None:
    html = (MF2 / "reply.html").read_text().replace('<a class="u-url" href="https://jo.example/replies/7"></a>', "")
    p = microformats.parse_page(html, "https://jo.example/replies/7")
    post = microformats.post_from_mf2(p)
    assert post is not None and content.text_of(post.content_html or "") == "Totally agree with this."


def test_photo_post_with_alt_like_and_repost() -> None:
    post = microformats.post_from_mf2(hand("photo.html", "https://jo.example/photos/1"))
    assert post is not None
    assert post.photos == (Media(url="https://jo.example/photos/sunrise.jpg", alt="Sunrise over the bay"),
                           Media(url="https://cdn.example/photos/boats.jpg", alt="Two boats at anchor"))
    assert post.like_of == ("https://other.example/posts/43",)
    assert post.repost_of == ("https://other.example/posts/44",)
    assert post.published and post.published.isoformat() == "2024-05-03T06:10:00+01:00"
    assert post.title is None  # p-content, no p-name: no implied name either


def test_entry_nested_in_hfeed_is_chosen_by_url_and_inherits_feed_author() -> None:
    post = microformats.post_from_mf2(hand("hfeed.html", "https://jo.example/two"))
    assert post is not None
    assert post.title == "Second post"
    assert post.author == Author(name="Jo", url="https://jo.example/", photo="https://jo.example/me.jpg")
    # On the feed page itself (two entries, none is the page): no single post.
    assert microformats.post_from_mf2(hand("hfeed.html", "https://jo.example/")) is None
    name, author, posts = microformats.feed_entries(hand("hfeed.html", "https://jo.example/"))
    assert name == "Jo's posts" and [p.url for p in posts] == ["https://jo.example/one", "https://jo.example/two"]


def test_rel_author_and_representative_hcard() -> None:
    post_page = microformats.parse_page(
        '<html><head><link rel="author" href="/about"></head><body>'
        '<article class="h-entry"><h1 class="p-name">Hi</h1><div class="e-content">Body</div></article>'
        '<div class="h-card"><span class="p-name">A commenter</span></div></body></html>',
        "https://jo.example/hi")
    author, follow = hcard.entry_author(post_page)
    assert author is None and follow == "https://jo.example/about"
    about = microformats.parse_page(
        '<html><body><a rel="me" href="https://social.example/@jo">Mastodon</a>'
        '<div class="h-card"><a class="u-url u-uid p-name" href="/about">Jo Example</a>'
        '<img class="u-photo" src="/jo.png" alt="Jo"><p class="p-note">Gardener.</p></div></body></html>',
        "https://jo.example/about")
    assert hcard.representative_hcard(about) == Author(
        name="Jo Example", url="https://jo.example/about", photo="https://jo.example/jo.png")
    profile = hcard.profile_from_mf2(about)
    assert profile is not None
    assert profile.summary == "Gardener." and profile.links == ("https://social.example/@jo",)
    assert profile.icon == Media(url="https://jo.example/jo.png", alt="Jo")


def test_implied_name_is_not_a_title() -> None:
    post = microformats.post_from_mf2(hand("implied.html", "https://jo.example/n/9"))
    assert post is not None
    assert post.title is None
    assert content.text_of(post.content_html or "").startswith("Only text, no content class")
    merged = merge.merge_posts([Post(title="Only text, no content class", content_html=post.content_html,
                                     sources={"_": "feed"})])
    assert merged.title is None  # a title that repeats the content's start is none


def test_content_chrome_removed_urls_absolute_media_found() -> None:
    post = microformats.post_from_mf2(hand("chrome.html", "https://jo.example/2024/05/chrome/"))
    assert post is not None and post.content_html
    html = post.content_html
    for chrome in ("Share this", "sharedaddy", "Related", "<form", "<script", "Subscribe", "<button"):
        assert chrome not in html
    assert 'href="https://jo.example/2024/05/other/"' in html
    assert "🤖" in html and "wp-smiley" not in html
    assert 'srcset="https://jo.example/uploads/pic-1024x683.jpg 1024w, https://jo.example/uploads/pic.jpg 1600w"' in html
    assert post.photos == (Media(url="https://jo.example/uploads/pic-1024x683.jpg", alt="A picture"),)
    assert post.videos == (Media(url="https://jo.example/media/clip.mp4"),)
    assert post.audio == (Media(url="https://jo.example/media/talk.mp3", mime_type="audio/mpeg"),)
    assert post_type(post) == "video"


def test_page_without_microformats_falls_back_to_opengraph_and_meta() -> None:
    p = hand("nomf.html", "https://kaffee.example/?p=3")
    assert not microformats.has_microformats(p)
    assert microformats.post_from_mf2(p) is None
    candidates = [*metaformats.posts_from_meta(p.soup, p.url), Post(url=p.url, sources={"_": "fetch-url"})]
    post = merge.merge_posts(candidates, page_title=metaformats.document_title(p.soup))
    assert post.title == "Kaffee am Morgen"
    assert post.url == "https://kaffee.example/2024/kaffee-am-morgen/"
    assert post.featured == Media(url="https://kaffee.example/uploads/muehle.jpg", alt="Eine Handmühle aus Holz")
    assert post.published and post.published.isoformat() == "2024-03-01T07:00:00+01:00"
    assert post.updated and post.updated.isoformat() == "2024-03-02T09:30:00+01:00"
    assert post.tags == ("Kaffee", "Morgen")
    assert post.summary == "Warum ich meinen Kaffee jetzt von Hand mahle."
    assert post.language == "de-DE"
    assert post.sources == {"title": "opengraph", "url": "rel-canonical", "summary": "opengraph",
                            "published": "opengraph", "updated": "opengraph", "tags": "opengraph",
                            "featured": "opengraph", "language": "opengraph"}
    # The <title> without the site name, when only <title> is there.
    plain = [m for m in metaformats.posts_from_meta(p.soup, p.url) if m.sources["_"] == "meta"][0]
    assert plain.title == "Kaffee am Morgen" and plain.language == "de"
    icons = metaformats.icons(p.soup, p.url)
    assert [i.url for i in icons] == ["https://kaffee.example/favicon-192.png",
                                      "https://kaffee.example/apple-touch-icon.png",
                                      "https://kaffee.example/favicon-32.png"]
    site = metaformats.profiles_from_meta(p.soup, p.url)
    assert site[0].site_name == "Kaffeeblog" and site[0].sources == {"_": "opengraph"}


def test_content_response_properties_and_excerpt_detection() -> None:
    props = microformats.content_properties(
        '<p>Liked <a class="u-like-of" href="/x">this</a>; see '
        '<a class="u-bookmark-of" href="https://b.example/">b</a></p>', "https://jo.example/p/1")
    assert props == {"like_of": ("https://jo.example/x",), "bookmark_of": ("https://b.example/",)}
    body = "People keep asking how I fit courses into a full-time job. Here is the answer."
    assert content.is_excerpt_of("People keep asking how I fit courses into a full-time … Continue reading", body)
    assert content.is_excerpt_of("People keep asking how I fit courses [&hellip;]", body)
    assert not content.is_excerpt_of("A summary written by hand.", body)


def test_mf1_entry_without_id_gets_category_names_from_the_page() -> None:
    p = microformats.parse_page(
        '<html><body><div class="hentry"><h2 class="entry-title">One</h2>'
        '<div class="entry-content"><p>First.</p></div>'
        '<a rel="tag" href="/topics/slow-cooking/">Slow Cooking</a></div>'
        '<div class="hentry"><h2 class="entry-title">Two</h2><div class="entry-content">x</div></div>'
        '</body></html>', "https://old.example/one")
    post = microformats.post_from_mf2(p)
    assert post is not None and post.sources == {"_": "mf1"}
    assert post.title == "One" and post.categories == ("Slow Cooking",)


def test_merge_never_mixes_two_people_into_one_author() -> None:
    page_author = Post(author=Author(name="Jo", url="https://jo.example/"), sources={"_": "mf2"})
    other = Post(author=Author(name="Alex Rivera", url="https://alex.example/",
                               photo="https://alex.example/a.png"), sources={"_": "oembed"})
    same = Post(author=Author(name="jo", photo="https://jo.example/jo.png"), sources={"_": "feed"})
    merged = merge.merge_posts([other, page_author, same])
    assert merged.author == Author(name="Jo", url="https://jo.example/", photo="https://jo.example/jo.png")
    assert {k: v for k, v in merged.sources.items() if k.startswith("author.")} == {
        "author.name": "mf2", "author.url": "mf2", "author.photo": "feed"}


def test_affirmed_empty_stops_the_fallbacks() -> None:
    rest = Post(title=None, content_html="<p>Week two.</p>", empty=frozenset({"title", "featured"}),
                sources={"_": "wp-rest"})
    og = Post(title="Binge Learner", featured=Media(url="https://x.example/default-share.png"),
              sources={"_": "opengraph"})
    merged = merge.merge_posts([og, rest])
    assert merged.title is None and merged.featured is None
    assert merged.sources["title"] == "wp-rest" and merged.sources["featured"] == "wp-rest"


def test_fingerprint_and_image_key() -> None:
    from dataclasses import replace

    from bridge.blog.post import image_key

    post = Post(title="T", content_html="<p>x</p>", published=datetime.fromisoformat("2024-01-01T10:00:00+01:00"),
                sources={"_": "mf2"})
    assert post.fingerprint() == replace(post, sources={"title": "feed"}).fingerprint()  # provenance aside
    assert post.fingerprint() != replace(post, content_html="<p>y</p>").fingerprint()
    assert image_key("https://b.example/wp-content/uploads/2019/06/wall-1024x683.jpg") == \
        "https://b.example/wp-content/uploads/2019/06/wall.jpg"
    assert image_key("https://b.example/u/photo-scaled.jpg") == "https://b.example/u/photo.jpg"
    assert image_key("https://b.example/u/2019-06.png") == "https://b.example/u/2019-06.png"


async def test_an_unchanged_page_is_not_parsed_again_and_parsing_runs_off_the_loop() -> None:
    html = '<article class="h-entry"><h1 class="p-name">Hello</h1><a class="u-url" href="/p/1">x</a></article>'
    first = await reader.parse_off_loop(html, "https://blog.example/p/1")
    assert microformats.parse_page(html, "https://blog.example/p/1") is first  # the same bytes: the same tree
    assert microformats.parse_page(html, "https://blog.example/p/2") is not first  # another URL resolves otherwise
    changed = microformats.parse_page(html.replace("Hello", "Hello again"), "https://blog.example/p/1")
    assert changed is not first
    post = microformats.post_from_mf2(changed)
    assert post is not None and post.title == "Hello again" and post.url == "https://blog.example/p/1"


# --- mf2 edge cases: the element tells what mf2py's values hide ---------------------------

def test_name_on_the_content_element_is_an_untitled_note_a_feed_title_may_still_win() -> None:
    p = microformats.parse_page(
        '<article class="h-entry"><div class="p-name e-content"><p>Hello there, world.</p></div>'
        '<a class="u-url" href="/n/1">1 May</a></article>', "https://jo.example/n/1")
    post = microformats.post_from_mf2(p)
    assert post is not None and post.title is None
    assert "title" not in post.empty  # the page does not say the post is untitled
    assert post.content_html == "<p>Hello there, world.</p>"
    merged = merge.merge_posts([post, Post(title="Morning notes", sources={"_": "feed"})])
    assert merged.title == "Morning notes" and merged.sources["title"] == "feed"


def test_a_p_name_of_its_own_is_a_title_even_when_the_content_starts_with_it() -> None:
    p = microformats.parse_page(
        '<article class="h-entry"><h1 class="p-name">Hello there</h1>'
        '<div class="e-content"><p>Hello there, world.</p></div></article>', "https://jo.example/a/1")
    post = microformats.post_from_mf2(p)
    assert post is not None and post.title == "Hello there" and "title" not in post.empty


def test_response_properties_on_elements_holding_a_link_give_the_link() -> None:
    p = microformats.parse_page(
        '<article class="h-entry">'
        '<p class="u-in-reply-to">In reply to <a href="https://other.example/posts/42">their post</a></p>'
        '<span class="u-in-reply-to">https://third.example/x</span>'
        '<div class="u-like-of">Liked <a href="/a">a</a> and <a href="/b">b</a></div>'
        '<p class="u-repost-of">via<a href="/r">r</a></p>'
        '<a class="u-bookmark-of" href="/bm">bookmarked</a>'
        '<div class="e-content">Yes.</div></article>', "https://jo.example/replies/8")
    post = microformats.post_from_mf2(p)
    assert post is not None
    # Not "https://jo.example/replies/In reply to their post": the link inside; a URL
    # written as text stays.
    assert post.in_reply_to == ("https://other.example/posts/42", "https://third.example/x")
    assert post.like_of == ()  # two links: which one is meant is unknown
    assert post.repost_of == ("https://jo.example/r",)  # "viar", glued to the page's URL without a space
    assert post.bookmark_of == ("https://jo.example/bm",)


def test_response_property_inside_mf1_content_gives_the_link() -> None:
    p = microformats.parse_page(
        '<html><body><article class="hentry" id="post-3"><h1 class="entry-title">Re: MOOCs</h1>'
        '<div class="entry-content"><p class="u-in-reply-to">In reply to '
        '<a href="https://example.net/moocs/">Are MOOCs worth it?</a></p><p>They are.</p></div>'
        '</article></body></html>', "https://b.example/re-moocs/")
    post = microformats.post_from_mf2(p)
    assert post is not None and post.sources == {"_": "mf1"}
    assert post.in_reply_to == ("https://example.net/moocs/",)


def test_a_picture_is_one_photo() -> None:
    p = microformats.parse_page(
        '<article class="h-entry"><h1 class="p-name">Sunrise</h1>'
        '<picture class="u-photo"><source srcset="/s-800.webp 800w, /s-1600.webp 1600w">'
        '<img src="/s.jpg" alt="Sunrise"></picture>'
        '<img class="u-featured" srcset="/f-400.jpg 400w, /f-1200.jpg 1200w" alt="Cover">'
        '<div class="e-content"><p>Morning.</p><picture><source srcset="/c-800.webp 800w">'
        '<source srcset="/c-1600.webp 1600w"><img src="/c.jpg" alt="C"></picture>'
        '<picture><source srcset="/d-800.webp 800w, /d-1600.webp 1600w"><img alt="D"></picture></div>'
        '</article>', "https://jo.example/p/sunrise")
    post = microformats.post_from_mf2(p)
    assert post is not None
    # Never the page's URL (what mf2py gives for a u-photo without src).
    assert post.photos == (Media(url="https://jo.example/s.jpg", alt="Sunrise"),
                           Media(url="https://jo.example/c.jpg", alt="C"),
                           Media(url="https://jo.example/d-1600.webp", alt="D"))
    assert post.featured == Media(url="https://jo.example/f-1200.jpg", alt="Cover")


def test_the_entry_among_comment_entries_is_found_by_its_url_for_its_reply_link() -> None:
    p = microformats.parse_page(
        '<article class="h-entry"><a class="u-url" href="/replies/9"></a>'
        '<p class="u-in-reply-to">Re: <a href="https://other.example/posts/42">their post</a></p>'
        '<div class="e-content">Agreed.</div>'
        '<div class="p-comment h-entry"><a class="u-url" href="/replies/9#c1"></a>'
        '<div class="e-content">Me too</div></div></article>'
        '<section><article class="h-entry"><a class="u-url" href="/replies/9#comment-2"></a>'
        '<a class="u-in-reply-to" href="/replies/9"></a><div class="e-content">A comment.</div>'
        '</article></section>', "https://jo.example/replies/9")
    post = microformats.post_from_mf2(p)
    assert post is not None and post.in_reply_to == ("https://other.example/posts/42",)
