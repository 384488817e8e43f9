"""How long turning a blog post page into its AS2 object takes without the network, next to
mf2py's plain parse of the same page.

For every post page of the WordPress fixtures (tests/fixtures/wordpress: twentytwentyone
marks posts up with legacy `hentry` classes only, twentytwentythree with mf2), and of the
nine Hugo, Jekyll and Eleventy blogs (tests/fixtures/engines, read with their feed):
- "read": what bridge/publish/reader.py does once the responses are in: parse the page (lxml,
  mf2py, metaformats), decode the REST API and oEmbed JSON it links, translate every
  source and merge them field by field (reader.build_post), then the AS2 object
  (documents.blog_post_as2); the parse cache is emptied before each run;
- "again": the same, for a page parsed lately (unchanged: not parsed again);
- "mf2py": mf2py.parse(doc=html) with its default parser, on the same page (the ceiling);
- "lxml": mf2py.parse(doc=html, html_parser="lxml"), the parser the bridge uses.
Prints the median of several runs of each, and the ratio read / mf2py.
Run: python bench/read.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mf2py  # noqa: E402

from bridge.blog import microformats, wordpress  # noqa: E402
from bridge.config import BlogConfig  # noqa: E402
from bridge.publish import reader  # noqa: E402
from bridge.publish.documents import blog_post_as2  # noqa: E402
from bridge.blog import feeds  # noqa: E402
from tests.blogserver import THEMES, WORDPRESS, _key, wordpress_routes  # noqa: E402
from tests.engines import ENGINES, SITES, engine_manifest, engine_truth  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, print_json_line  # noqa: E402

BLOG = BlogConfig(name="blog", url="https://blog.example/")

RUNS = 11


def median_ms(work: Callable[[], Any], runs: int = RUNS) -> float:
    work()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def read(html: str, url: str, responses: dict[str, bytes], *, fresh: bool = True, feed: Any = None) -> Any:
    """reader.read_post's work after the fetches, then the AS2 object: everything but the network."""
    if fresh:
        microformats.PARSED_PAGES.clear()  # a page never seen: parsed
    page = microformats.parse_page(html, url)
    links = microformats.rel_links(page)

    def load(link: str | None) -> Any:
        return json.loads(responses[link]) if link in responses else None

    data = load(wordpress.rest_link(links))
    wp = None
    if wordpress.is_rest_post(data):
        more = wordpress.rest_links(data)
        wp = reader.WordPressData(post=data, user=load(more.author), media=load(more.featured_media),
                                  categories=load(more.categories), tags=load(more.tags))
    post, _profile = reader.build_post(page, url, wordpress_data=wp, oembed=load(wordpress.oembed_link(links)),
                                       feed=feed)
    return blog_post_as2("https://bridge.example", BLOG, post, object_id="https://bridge.example/users/blog/posts/1",
                         language=None)


def linked_json(page: microformats.Mf2Page, routes: dict[Any, Any]) -> dict[str, bytes]:
    """The recorded bodies of the JSON documents a page links (REST post and its links, oEmbed)."""
    responses: dict[str, bytes] = {}

    def add(link: str | None) -> None:
        route = routes.get(_key(link)) if link else None
        if route is None and link:
            route = routes.get((_key(link)[0], ()))  # term lists answer any query
        if link and route is not None and route.status == 200:
            responses[link] = route.body

    links = microformats.rel_links(page)
    rest = wordpress.rest_link(links)
    add(rest)
    add(wordpress.oembed_link(links))
    if rest in responses:
        more = wordpress.rest_links(json.loads(responses[rest]))
        for link in (more.author, more.featured_media, more.categories, more.tags):
            add(link)
    return responses


def main() -> None:
    started = time.perf_counter()
    print(f"machine: {machine()} (shared with other work: absolute figures wobble)")
    print(f"{'page':<42}{'read ms':>9}{'again ms':>9}{'mf2py ms':>10}{'lxml ms':>9}{'ratio':>7}")
    reads, defaults, fast, agains = [], [], [], []
    by_theme: dict[str, list[float]] = {theme: [] for theme in THEMES}
    for theme in THEMES:
        routes = wordpress_routes(theme)
        manifest = json.loads((WORDPRESS / theme / "manifest.json").read_text())
        for entry in manifest["files"]:
            if entry["page_kind"] != "post":
                continue
            html = (WORDPRESS / theme / entry["file"]).read_text(encoding="utf-8")
            url = entry["url"]
            # The JSON documents the page links, as the reader would have fetched them.
            responses = linked_json(microformats.parse_page(html, url), routes)
            ours = median_ms(lambda: read(html, url, responses))
            again = median_ms(lambda: read(html, url, responses, fresh=False))
            theirs = median_ms(lambda: mf2py.parse(doc=html, url=url))
            lxml = median_ms(lambda: mf2py.parse(doc=html, url=url, html_parser="lxml"))
            reads.append(ours)
            agains.append(again)
            defaults.append(theirs)
            fast.append(lxml)
            by_theme[theme].append(ours)
            print(f"{theme + '/' + entry['file']:<42}{ours:>9.1f}{again:>9.1f}{theirs:>10.1f}{lxml:>9.1f}"
                  f"{ours / theirs:>7.2f}")
    wordpress_pages = len(reads)
    by_theme["engines"] = []
    for site in SITES:  # the Hugo, Jekyll and Eleventy blogs (tests/fixtures/engines), with their feed
        truth, manifest = engine_truth(site), engine_manifest(site)
        feed_file = next(e for e in manifest["files"] if e["url"] == truth["feeds"][0]["url"])
        feed = feeds.parse_feed((ENGINES / site / feed_file["file"]).read_bytes(), feed_file["url"],
                                feed_file["content_type"])
        for post in truth["posts"]:
            html = (ENGINES / site / post["file"]).read_text(encoding="utf-8")
            url = post["url"]
            ours = median_ms(lambda: read(html, url, {}, feed=feed))
            again = median_ms(lambda: read(html, url, {}, fresh=False, feed=feed))
            theirs = median_ms(lambda: mf2py.parse(doc=html, url=url))
            lxml = median_ms(lambda: mf2py.parse(doc=html, url=url, html_parser="lxml"))
            by_theme["engines"].append(ours)  # small pages: kept out of the headline median
            print(f"{site + '/' + post['file'][-30:]:<42}{ours:>9.1f}{again:>9.1f}{theirs:>10.1f}{lxml:>9.1f}"
                  f"{ours / theirs:>7.2f}")
    ours, theirs = statistics.median(reads), statistics.median(defaults)
    print(f"{'median over WordPress pages':<42}{ours:>9.1f}{statistics.median(agains):>9.1f}{theirs:>10.1f}"
          f"{statistics.median(fast):>9.1f}{ours / theirs:>7.2f}")
    for theme, values in by_theme.items():
        print(f"{'median, ' + theme:<42}{statistics.median(values):>9.1f}  (max {max(values):.1f})")
    print(f"({RUNS} runs per page and tool; read = parse + REST/oEmbed JSON + merge + AS2, no network;"
          f" total {time.perf_counter() - started:.1f} s)")
    print_json_line("read", {"median_ms": ours, "again_ms": statistics.median(agains), "mf2py_ms": theirs,
                             "lxml_ms": statistics.median(fast), "ratio": ours / theirs,
                             "by_theme": {t: statistics.median(v) for t, v in by_theme.items()},
                             "max_by_theme": {t: max(v) for t, v in by_theme.items()}, "pages": wordpress_pages,
                             "engine_pages": len(by_theme["engines"])})


if __name__ == "__main__":
    main()
