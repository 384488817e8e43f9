"""WordPress REST API and oEmbed JSON → partial posts, checked against truth.json."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bridge.blog import microformats, wordpress
from bridge.blog.post import Author, Link, Media
from bridge.net.fetch import parse_link_header
from tests.blogserver import paragraphs

CORE = Path(__file__).parent / "fixtures" / "wordpress" / "core-endpoints"
TRUTH = json.loads((CORE.parent / "truth.json").read_text(encoding="utf-8"))
POSTS = [p for p in TRUTH["posts"] if p["status"] == "publish"]


def load(name: str) -> Any:
    return json.loads((CORE / name).read_text(encoding="utf-8"))


def rest_post(truth: dict[str, Any]):
    data = load(f"rest-post-{truth['id']}.json")
    media = load(f"rest-media-{data['featured_media']}.json") if data["featured_media"] else None
    return wordpress.post_from_rest(data, user=load("rest-user-1.json"), media=media,
                                    categories=load("rest-categories.json"), tags=load("rest-tags.json"))



@pytest.mark.parametrize("truth", POSTS, ids=lambda t: t["key"])
def test_rest_post_matches_truth(truth: dict[str, Any]) -> None:
    post = rest_post(truth)
    assert post.sources == {"_": "wp-rest"}
    assert post.title == (truth["title"] or None)
    assert ("title" in post.empty) == (not truth["title"])
    assert post.url == truth["permalink"]
    assert post.published is not None and post.published.isoformat() == truth["published"]
    assert post.updated is not None and post.updated.isoformat() == truth["updated"]
    assert post.categories == tuple(truth["categories"])
    assert post.tags == tuple(truth["tags"])
    assert ("tags" in post.empty) == (not truth["tags"])
    assert paragraphs(post.content_html or "") == truth["content_paragraphs_text"]
    assert post.author == Author(name=truth["author"]["name"], url=truth["author"]["url"],
                                 photo=truth["author"]["photo"])
    image = truth["image"]
    if image:
        assert post.featured == Media(url=image["full"], alt=image["alt"], mime_type="image/jpeg")
        assert post.photos == (Media(url=image["large"], alt=image["alt"]),)
        assert post.images() == (post.featured,)  # one picture in two sizes
    else:
        assert post.featured is None and post.photos == () and "featured" in post.empty
    assert post.in_reply_to == ((truth["in_reply_to"],) if truth["in_reply_to"] else ())


def test_dates_keep_the_site_offset() -> None:
    assert wordpress.wp_datetime("2019-08-02T14:20:00", "2019-08-02T18:20:00") == datetime(
        2019, 8, 2, 14, 20, tzinfo=timezone(timedelta(hours=-4)))
    # India: +05:30
    assert wordpress.wp_datetime("2019-08-02T23:50:00", "2019-08-02T18:20:00").isoformat() == \
        "2019-08-02T23:50:00+05:30"
    assert wordpress.wp_datetime(None, None) is None  # drafts have no date_gmt


def test_terms_keep_post_order_and_ignore_other_terms() -> None:
    assert wordpress.term_names(load("rest-tags.json"), [7, 5, 6, 8]) == (
        "certificates", "coursera", "deep learning", "study habits")
    assert wordpress.term_names(load("rest-categories.json"), [3]) == ("Machine Learning",)
    assert wordpress.term_names({"code": "rest_forbidden"}, [3]) == ()


def test_embedded_response_gives_the_same_post() -> None:
    """?_embed puts author, media and terms inside the post JSON: one request instead of five."""
    data = load("rest-post-7.json")
    embedded = dict(data, _embedded={
        "author": [load("rest-user-1.json")],
        "wp:featuredmedia": [load("rest-media-13.json")],
        "wp:term": [[c for c in load("rest-categories.json") if c["id"] in data["categories"]], []],
    })
    assert wordpress.post_from_rest(embedded) == rest_post(POSTS[2])


def test_draft_error_json_is_not_a_post() -> None:
    assert not wordpress.is_rest_post(load("rest-post-12-draft.json"))
    assert wordpress.is_rest_post(load("rest-post-5.json"))


def test_links_from_page_and_from_http_header() -> None:
    page_html = (CORE.parent / "twentytwentythree" / "post-image.html").read_text(encoding="utf-8")
    url = "http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/"
    links = microformats.rel_links(microformats.parse_page(page_html, url))
    assert wordpress.rest_link(links) == "http://127.0.0.1:8765/wp-json/wp/v2/posts/7"
    assert wordpress.oembed_link(links) == (
        "http://127.0.0.1:8765/wp-json/oembed/1.0/embed?url=http%3A%2F%2F127.0.0.1%3A8765"
        "%2F2019%2F06%2F28%2Fa-wall-of-certificates%2F")
    # The same REST link, from the recorded HTTP Link headers of the page.
    head = (CORE.parent / "twentytwentythree" / "post-image.headers.txt").read_text()
    values = [line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("link:")]
    header_links = parse_link_header(values, url)
    assert Link(url="http://127.0.0.1:8765/wp-json/wp/v2/posts/7", rels=("alternate",),
                type="application/json") in header_links
    assert wordpress.rest_link(header_links) == "http://127.0.0.1:8765/wp-json/wp/v2/posts/7"
    assert [l.rels for l in header_links][:2] == [("webmention",), ("http://webmention.org/",)]


def test_rest_links_to_follow() -> None:
    links = wordpress.rest_links(load("rest-post-8.json"))
    assert links == wordpress.RestLinks(
        author="http://127.0.0.1:8765/wp-json/wp/v2/users/1", featured_media=None,
        categories="http://127.0.0.1:8765/wp-json/wp/v2/categories?post=8",
        tags="http://127.0.0.1:8765/wp-json/wp/v2/tags?post=8")
    # No tags, no featured image: nothing to fetch.
    assert wordpress.rest_links(load("rest-post-5.json")).tags is None
    assert wordpress.rest_links(load("rest-post-7.json")).featured_media == \
        "http://127.0.0.1:8765/wp-json/wp/v2/media/13"


def test_oembed() -> None:
    post = wordpress.post_from_oembed(load("oembed-post-7.json"))
    assert post is not None and post.sources == {"_": "oembed"}
    assert post.title == "A wall of certificates"
    assert post.author == Author(name="Maya Okonkwo", url="http://127.0.0.1:8765/author/maya/")
    assert post.featured == Media(url="http://127.0.0.1:8765/wp-content/uploads/2019/06/certificate-wall.jpg")
    profile = wordpress.profile_from_oembed(load("oembed-post-6.json"))
    assert profile is not None and profile.name == "Maya Okonkwo" and profile.site_name == "Binge Learner"
    assert wordpress.post_from_oembed(load("oembed-post-6.json")).title is None  # the status post


def test_user_profile() -> None:
    profile = wordpress.profile_from_user(load("rest-user-1.json"))
    author = TRUTH["site"]["author"]
    assert profile is not None
    assert (profile.name, profile.url, profile.summary) == (author["display_name"], author["url"], author["bio"])
    assert profile.icon == Media(url=author["avatar_url"])


# -- the REST API's answer for a post that is no longer public -----------------------

INVALID_ID = {"code": "rest_post_invalid_id", "message": "Invalid post ID.", "data": {"status": 404}}


@pytest.mark.parametrize(("status", "data", "why"), [
    (401, load("rest-post-12-draft.json"), "rest_forbidden"),  # recorded: a draft, to an anonymous reader
    (403, load("rest-post-12-draft.json"), "rest_forbidden"),  # the same to a logged-in reader
    (404, INVALID_ID, "rest_post_invalid_id"),  # deleted for good
    (410, INVALID_ID, "rest_post_invalid_id"),
    (200, {**load("rest-post-5.json"), "status": "trash"}, "status trash"),
    (200, {**load("rest-post-5.json"), "status": "draft"}, "status draft"),
    (200, {**load("rest-post-5.json"), "status": "private"}, "status private"),
    (200, {**load("rest-post-5.json"), "status": "trash\nforged=1"}, "status ?"),  # never logged as sent
])
def test_rest_answers_that_say_a_post_is_gone(status: int, data: Any, why: str) -> None:
    assert wordpress.rest_gone(status, data) == why


@pytest.mark.parametrize(("status", "data"), [
    (200, load("rest-post-5.json")),  # published
    (200, {k: v for k, v in load("rest-post-5.json").items() if k != "status"}),
    (200, {"status": "trash"}),  # not a post
    (200, [load("rest-post-5.json")]),
    # Plugins that close the REST API to everyone: nothing is said about the post.
    (401, {"code": "rest_cannot_access", "message": "Only authenticated users can access the REST API.",
           "data": {"status": 401}}),
    (401, {"code": "rest_login_required", "message": "REST API restricted to authenticated users.",
           "data": {"status": 401}}),
    (401, {"code": "rest_not_logged_in", "message": "You are not currently logged in.", "data": {"status": 401}}),
    (404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
           "data": {"status": 404}}),
    (404, {"code": "rest_forbidden"}),  # a code at the wrong status
    (401, INVALID_ID),
    (500, {"code": "rest_forbidden"}),
    (503, None),  # not JSON
    (404, None),
    (401, "rest_forbidden"),
    (401, {"code": ["rest_forbidden"]}),
])
def test_rest_answers_that_say_nothing_about_the_post(status: int, data: Any) -> None:
    assert wordpress.rest_gone(status, data) is None
