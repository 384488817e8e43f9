"""Blogs made by static site engines (Hugo, Jekyll, Eleventy), served for the tests.

tests/fixtures/engines/SITE/ holds the pages and feeds that a real engine generated for
one small blog of ours at http://127.0.0.1:8765/ (tests/fixtures/engines/README.md says
what each site reproduces, and build.py rebuilds them). Like the WordPress fixtures, they
are served by tests/blogserver.BlogServer on 127.0.0.1:8765, one site at a time:

    server = await BlogServer(routes=engine_routes("hugo-og")).start()
    truth = engine_truth("hugo-og")   # what each post really is, from its source

Every file is answered 200 with the manifest's Content-Type (what the site's host would
send: `.xml` files as text/xml or application/xml on some sites); any other URL is 404,
images included.
"""

from __future__ import annotations

import hashlib
import json

from tests.blogserver import FIXTURES, Route, _key

ENGINES = FIXTURES / "engines"
SITES = ("hugo-mf2", "jekyll-mf2", "eleventy-mf2", "hugo-og", "hugo-jsonld", "jekyll-seo",
         "eleventy-meta", "hugo-plain", "jekyll-plain")
MF2_SITES = ("hugo-mf2", "jekyll-mf2", "eleventy-mf2")


def engine_manifest(site: str) -> dict:
    """tests/fixtures/engines/SITE/manifest.json: {"site", "engine", "base", "files":
    [{"url", "file", "kind" (home | post | feed | page), "content_type"}]}."""
    if site not in SITES:
        raise KeyError(f"no engine fixture site {site!r} (one of {', '.join(SITES)})")
    return json.loads((ENGINES / site / "manifest.json").read_text(encoding="utf-8"))


def engine_routes(site: str, *, etags: bool = False) -> dict[tuple[str, tuple[tuple[str, str], ...]], Route]:
    """Every file of the site, for BlogServer(routes=...): status 200 and the manifest's
    Content-Type. With `etags`, also an ETag (a hash of the body) as a static host sends,
    so that BlogServer answers a matching If-None-Match with 304."""
    routes = {}
    for entry in engine_manifest(site)["files"]:
        body = (ENGINES / site / entry["file"]).read_bytes()
        headers = [("Content-Type", entry["content_type"])]
        if etags:
            headers.append(("ETag", f'"{hashlib.sha1(body).hexdigest()[:16]}"'))
        routes[_key(entry["url"])] = Route(status=200, headers=headers, body=body)
    return routes


def engine_truth(site: str) -> dict:
    """tests/fixtures/engines/SITE/truth.json: the site ("title", "author", "home",
    "feeds" [{"url", "kind"}], "patterns") and its "posts", newest first, each with "url",
    "title" (None if untitled), "published", "updated" (or None), "author" {"name", "url"},
    "tags", "categories", "image", "in_reply_to", "content_paragraphs_text", "summary"
    (README.md has the whole schema)."""
    engine_manifest(site)  # the same error for an unknown site
    return json.loads((ENGINES / site / "truth.json").read_text(encoding="utf-8"))


def engine_posts(site: str) -> list[dict]:
    return engine_truth(site)["posts"]
