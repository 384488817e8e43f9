"""The WordPress Webmention plugin, as a receiver and as a sender (pure).

Observed on WordPress 6.1 with the plugin 5.3.3 (tests/fixtures/wordpress/webmention-plugin.md),
and what the bridge does about each:
- A source that answers 410 changes nothing: the comment stays, words and all. So a
  withdrawn interaction reaches it as an edit (`webmention/hentry.render_tombstone`).
- It threads a comment only when the target is `PERMALINK?replytocom=PARENT_ID`
  (`thread_target`). The id of the comment it made from one of our pages is public only
  once approved, in the post's HTML: `<li id="comment-N">` around a link to its source
  (`comment_id_of`).
- The blogger's answer to such a comment, written in WordPress's own form, arrives as a
  webmention from `PERMALINK?replytocom=NEW_ID` (the plugin's page of that comment, which
  sends browsers on to `PERMALINK#comment-NEW_ID`) to the parent's `u-url`
  (`answer_comment`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup

_ENDPOINT_PATH = "/wp-json/webmention/1.0/endpoint"
_ENDPOINT_ROUTE = "/webmention/1.0/endpoint"  # ?rest_route= on sites without pretty permalinks
_COMMENT_ID = re.compile(r"(?:div-)?comment-([1-9][0-9]{0,18})")


def is_plugin_endpoint(endpoint: str | None) -> bool:
    """Whether a webmention endpoint is the WordPress plugin's (REST route, either URL form)."""
    if not endpoint:
        return False
    parts = urlsplit(endpoint)
    if parts.path.rstrip("/").endswith(_ENDPOINT_PATH):
        return True
    return dict(parse_qsl(parts.query)).get("rest_route", "").rstrip("/") == _ENDPOINT_ROUTE


def thread_target(permalink: str, comment_id: int) -> str:
    """The target that files a webmention under comment `comment_id` of the post."""
    parts = urlsplit(permalink)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "replytocom"]
    query.append(("replytocom", str(comment_id)))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def _same(href: str, url: str) -> bool:
    return href.strip().rstrip("/") == url.rstrip("/")


def comment_id_of(html: str, source: str) -> int | None:
    """The id of the comment shown on a post page that links to `source` (its webmention
    source), read from the `id="comment-N"` (or `div-comment-N`) around the link."""
    soup = BeautifulSoup(html, "lxml")
    for link in soup.find_all("a", href=True):
        if not _same(str(link["href"]), source):
            continue
        for parent in link.parents:
            found = _COMMENT_ID.fullmatch(str(parent.get("id", ""))) if hasattr(parent, "get") else None
            if found:
                return int(found.group(1))
    return None


def answer_comment(source: str) -> str | None:
    """For the plugin's page of a comment (`PERMALINK?replytocom=N`), the comment's own
    address (`PERMALINK#comment-N`); None for any other URL."""
    parts = urlsplit(source)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ids = [v for k, v in query if k == "replytocom"]
    if len(ids) != 1 or not _COMMENT_ID.fullmatch(f"comment-{ids[0]}"):
        return None
    rest = urlencode([(k, v) for k, v in query if k != "replytocom"])
    return urlunsplit(parts._replace(query=rest, fragment=f"comment-{ids[0]}"))
