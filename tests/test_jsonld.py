"""schema.org JSON-LD → partial posts and profiles (bridge/blog/jsonld.py), from small inline pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bs4 import BeautifulSoup

from bridge.blog import jsonld
from bridge.blog.post import Author, Media, Post, Profile

URL = "https://blog.example/2024/05/fish/"


def page(*scripts: Any, body: str = "") -> BeautifulSoup:
    """A page whose <head> holds one ld+json script per argument (a str is written as is)."""
    tags = "".join(f'<script type="application/ld+json">{s if isinstance(s, str) else json.dumps(s)}</script>'
                   for s in scripts)
    return BeautifulSoup(f"<html><head><title>x</title>{tags}</head><body>{body}</body></html>", "lxml")


YOAST = {
    "@context": "https://schema.org",
    "@graph": [
        {"@type": "WebPage", "@id": URL, "url": URL, "name": "Fish &amp; chips - Jo's blog",
         "description": "The page's description.", "datePublished": "2024-05-01T08:30:00+00:00"},
        {"@type": "Article", "@id": URL + "#article", "isPartOf": {"@id": URL},
         "author": {"@id": "https://blog.example/#/schema/person/abc"},
         "headline": "Fish &amp; chips", "datePublished": "2024-05-01T08:30:00+00:00",
         "dateModified": "2024-05-02T10:00:00+02:00", "mainEntityOfPage": {"@id": URL},
         "wordCount": 512, "publisher": {"@id": "https://blog.example/#organization"},
         "image": {"@id": URL + "#primaryimage"}, "thumbnailUrl": "https://blog.example/up/fish-150x150.jpg",
         "keywords": ["Food", "Friday", "food"], "articleSection": ["Recipes"], "inLanguage": "en-GB"},
        {"@type": "ImageObject", "@id": URL + "#primaryimage", "url": "https://blog.example/up/fish.jpg",
         "contentUrl": "https://blog.example/up/fish.jpg", "width": 1200, "height": 800, "caption": "Fish"},
        {"@type": "WebSite", "@id": "https://blog.example/#website", "url": "https://blog.example/",
         "name": "Jo's blog", "description": "Small things", "publisher": {"@id": "https://blog.example/#organization"}},
        {"@type": "Organization", "@id": "https://blog.example/#organization", "name": "Jo & Co",
         "url": "https://blog.example/", "logo": {"@type": "ImageObject", "url": "https://blog.example/logo.png"}},
        {"@type": "Person", "@id": "https://blog.example/#/schema/person/abc", "name": "Jo Bloggs",
         "url": "https://blog.example/author/jo/",
         "image": {"@type": "ImageObject", "@id": "https://blog.example/#/schema/person/image/",
                   "url": "https://secure.gravatar.com/avatar/1?s=96", "caption": "Jo Bloggs"}},
    ],
}


def test_yoast_graph_article_with_references() -> None:
    post = jsonld.post_from_jsonld(page(YOAST), URL)
    assert post == Post(
        url=URL,  # from mainEntityOfPage's @id: the Article node has no url of its own
        title="Fish & chips",
        published=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        updated=datetime(2024, 5, 2, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        author=Author(name="Jo Bloggs", url="https://blog.example/author/jo/",
                      photo="https://secure.gravatar.com/avatar/1?s=96"),
        tags=("Food", "Friday"),  # "food" repeats "Food"
        featured=Media(url="https://blog.example/up/fish.jpg"),
        language="en-GB",
    )
    assert post.sources == {"_": "json-ld"}
    # articleSection is the site's section, not the post's categories; the WebPage's
    # description describes the page and is not read from another node.
    assert post.categories == () and post.summary is None


def test_hugo_blogposting_go_dates_relative_urls_and_a_section() -> None:
    data = {
        "@context": "https://schema.org", "@type": "BlogPosting",
        "headline": "Notes on <em>Go</em> dates", "description": "  How Hugo prints\n dates. ",
        "datePublished": "2019-03-05 10:30:00 -0700 MST", "dateModified": "2021-04-02",
        "author": "Jo", "image": "/img/cover.jpg", "keywords": "hugo, dates ,, Hugo, Go",
        "articleSection": "posts", "url": "/posts/go-dates/", "mainEntityOfPage": "posts/go-dates/",
    }
    post = jsonld.post_from_jsonld(page(data), "https://jo.example/posts/go-dates/")
    assert post == Post(
        url=None,  # relative url and mainEntityOfPage: not taken as the permalink
        title="Notes on Go dates",
        summary="How Hugo prints dates.",
        published=datetime(2019, 3, 5, 10, 30, tzinfo=timezone(timedelta(hours=-7))),
        updated=datetime(2021, 4, 2, tzinfo=UTC),  # a day alone: midnight UTC
        author=Author(name="Jo"),
        tags=("hugo", "dates", "Go"),
        featured=Media(url="https://jo.example/img/cover.jpg"),
    )


def test_invalid_scripts_lists_type_lists_and_author_lists() -> None:
    good = [
        {"@type": "WebSite", "name": "News", "url": "https://news.example/"},
        {"@context": "http://schema.org", "@type": ["https://schema.org/NewsArticle", "Article"],
         "name": "Second-hand name", "url": "https://news.example/a/1",
         "author": [{"@type": "Person", "url": "/people/ann"}, {"@type": "Person", "name": "Bob"}],
         "image": [{"@type": "ImageObject", "contentUrl": "https://cdn.example/1.webp",
                    "encodingFormat": "image/webp"}, "https://cdn.example/2.jpg"],
         "datePublished": "2024-01-05T10:00:00Z", "dateModified": "2024-01-05T10:00"},
    ]
    soup = page("{not json,}", "", good, {"@type": "BlogPosting", "headline": "Later node"})
    post = jsonld.post_from_jsonld(soup, "https://news.example/a/1")
    assert post == Post(
        url="https://news.example/a/1", title="Second-hand name",
        published=datetime(2024, 1, 5, 10, 0, tzinfo=UTC),
        updated=None,  # a date-time without an offset names no instant
        author=Author(url="https://news.example/people/ann"),  # the first author only
        featured=Media(url="https://cdn.example/1.webp", mime_type="image/webp"),
    )


def test_strings_in_scripts_with_raw_newlines_and_comment_wrappers() -> None:
    raw = '<!--\n{"@type": "schema:SocialMediaPosting", "headline": "Two\nlines", "author": {"name": "Kim"}}\n-->'
    post = jsonld.post_from_jsonld(page(raw), URL)
    assert post == Post(title="Two lines", author=Author(name="Kim"))


def test_webpage_main_entity_and_type_attribute_case() -> None:
    data = {"@type": "WebPage", "name": "Page",
            "mainEntity": {"@type": "TechArticle", "headline": "Inside", "thumbnailUrl": "/t.png"}}
    soup = BeautifulSoup('<html><body><script type="Application/LD+JSON; charset=utf-8">'
                         f"{json.dumps(data)}</script></body></html>", "lxml")
    post = jsonld.post_from_jsonld(soup, URL)
    assert post == Post(title="Inside", featured=Media(url="https://blog.example/t.png"))


def test_no_post_node_is_none() -> None:
    # A home page: a Blog listing its posts is not a post, nor are WebPage and WebSite.
    blog = {"@type": "Blog", "name": "Jo's blog",
            "blogPost": [{"@type": "BlogPosting", "headline": "Listed, not this page"}]}
    assert jsonld.post_from_jsonld(page(blog, {"@type": "WebPage", "name": "Home"}), URL) is None
    assert jsonld.post_from_jsonld(page(), URL) is None
    assert jsonld.post_from_jsonld(page("[1, 2", {"@type": "JobPosting", "title": "Cook"}), URL) is None
    assert jsonld.post_from_jsonld(page({"@type": "Article"}), URL) is None  # says nothing


def test_profile_from_website_and_publisher() -> None:
    profile = jsonld.profile_from_jsonld(page(YOAST), "https://blog.example/")
    assert profile == Profile(url="https://blog.example/", name="Jo & Co", summary="Small things",
                              icon=Media(url="https://blog.example/logo.png"), site_name="Jo's blog")
    assert profile.sources == {"_": "json-ld"}
    person_site = [{"@type": "WebSite", "name": "Jo's notes", "url": "https://jo.example/"},
                   {"@type": "Person", "name": "Jo", "image": "/me.jpg", "url": "https://jo.example/about"}]
    assert jsonld.profile_from_jsonld(page(person_site), "https://jo.example/") == Profile(
        url="https://jo.example/", name="Jo", icon=Media(url="https://jo.example/me.jpg"), site_name="Jo's notes")
    assert jsonld.profile_from_jsonld(page({"@type": "BlogPosting", "headline": "x"}), URL) is None
