"""What the bridge reads and writes for the WordPress Webmention plugin (bridge/webmention/wordpress.py),
on the recorded pages of a live WordPress 6.1 with the plugin 5.3.3 (tests/fixtures/wordpress/):
its endpoint told from others, a thread's target, the id of the comment a webmention made (from the
post page, both themes), and the plugin's page of a comment the blogger wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.webmention.wordpress import answer_comment, comment_id_of, is_plugin_endpoint, thread_target

WORDPRESS = Path(__file__).parent / "fixtures" / "wordpress"
POST = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("http://127.0.0.1:8765/wp-json/webmention/1.0/endpoint", True),
    ("https://blog.example/blog/wp-json/webmention/1.0/endpoint/", True),  # WordPress in a folder
    ("https://blog.example/?rest_route=/webmention/1.0/endpoint", True),  # no pretty permalinks
    ("https://blog.example/index.php?rest_route=%2Fwebmention%2F1.0%2Fendpoint", True),
    ("https://webmention.io/blog.example/webmention", False),
    ("https://blog.example/webmention/", False),  # django-wm, Known, others
    ("https://blog.example/wp-json/other/1.0/endpoint", False),
    (None, False),
])
def test_the_plugin_endpoint_is_told_from_others(endpoint: str | None, expected: bool) -> None:
    assert is_plugin_endpoint(endpoint) is expected


def test_a_thread_target_carries_replytocom_and_nothing_else() -> None:
    assert thread_target(POST, 12) == f"{POST}?replytocom=12"
    assert thread_target("https://blog.example/?p=5#comments", 7) == "https://blog.example/?p=5&replytocom=7"
    assert thread_target(f"{POST}?replytocom=3", 7) == f"{POST}?replytocom=7"


@pytest.mark.parametrize("theme", ["twentytwentyone", "twentytwentythree"])
@pytest.mark.parametrize(("source", "comment"), [
    ("http://127.0.0.1:8766/replies/hank-reply.html", 12),  # author without u-url: the source is the author URL too
    ("http://127.0.0.1:8766/replies/ivy-reply.html", 13),  # author URL elsewhere; the date links the source
    ("http://127.0.0.1:8766/replies/ivy-reply.html/", 13),
    ("http://127.0.0.1:8766/replies/nobody.html", None),  # pending or never received: not shown
    ("http://127.0.0.1:8766/@ivy", 13),  # an author URL is a link too: callers pass their own page
])
def test_the_comment_a_webmention_made_is_found_on_the_post_page(theme: str, source: str, comment: int | None) -> None:
    html = (WORDPRESS / theme / "post-seed.html").read_text(encoding="utf-8")
    assert comment_id_of(html, source) == comment


def test_a_link_outside_any_comment_names_none() -> None:
    html = (WORDPRESS / "twentytwentyone" / "post-seed.html").read_text(encoding="utf-8")
    assert comment_id_of(html, POST) is None


@pytest.mark.parametrize(("source", "expected"), [
    (f"{POST}?replytocom=14", f"{POST}#comment-14"),
    ("https://blog.example/?p=5&replytocom=14", "https://blog.example/?p=5#comment-14"),
    (POST, None),
    (f"{POST}?replytocom=014", None),  # WordPress writes ids without a leading zero
    (f"{POST}?replytocom=x", None),
    (f"{POST}?replytocom=1&replytocom=2", None),
])
def test_the_plugin_page_of_a_comment_is_read_as_the_comment(source: str, expected: str | None) -> None:
    assert answer_comment(source) == expected
