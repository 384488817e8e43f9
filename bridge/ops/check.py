"""`bridge check`: the setup checked against the live blog and the bridge's own public URL,
point by point, each ✓ or ✗ with the fix in one line.

Required points (the exit code depends on them): the blog answers, a recent post reads
(and which fields came from where, as `inspect` shows them), its author has a name and
an avatar, a feed is found, posts declare a webmention endpoint, the bridge's public URL
serves the blog's actor, the blog's keys exist, the clocks agree. Optional points: the
`@name@blog-domain` handle (a WebFinger redirect on the blog; required when
`handle_domain` is configured), the `rel=alternate` ActivityPub link on posts, the
`fediverse:creator` meta tag, delivery settings far below the defaults (config/advice.py).
For a blog with `bluesky = true` (issue 21): the follow of Bridgy Fed's bot accepted (required),
the Bluesky handle, whether the bot follows back, and Bridgy Fed's own requirements (optional:
a profile picture, an account a week old).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from bs4 import BeautifulSoup

from bridge.as2.bridgyfed import OLD_ACCOUNT_AGE, unmet_requirements
from bridge.as2.vocab import AP_ACCEPT
from bridge.blog.gaps import gaps
from bridge.blog.report import inspect_json
from bridge.config import BlogConfig, Config
from bridge.config.advice import slow_settings
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.core.urls import actor_id
from bridge.keys import NoKey, active_key
from bridge.net.fetch import FetchError, FetchResult, fetch
from bridge.publish.documents import NoActorKey, actor_document
from bridge.publish.following import BlueskyStatus, statuses
from bridge.publish.reader import discover_feed, read_feed, read_post

CLOCK_SKEW_SECONDS = 300  # HTTP signatures are refused outside a window; Mastodon's is ±1 hour, ours tighter
_FIELDS_SHOWN = ("title", "content_html", "published", "url", "author.name", "author.photo", "tags", "photos")


@dataclass
class Point:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        mark = "✓" if self.ok else "✗"
        optional = "" if self.required else " (optional)"
        out = [f"{mark} {self.name}{optional}: {self.detail}"]
        out += [f"    {note}" for note in self.notes]
        if not self.ok and self.fix:
            out.append(f"    fix: {self.fix}")
        return out


def passed(points: Sequence[Point]) -> bool:
    return all(p.ok for p in points if p.required)


# -- pure helpers --------------------------------------------------------------------------


def webmention_endpoint(result: FetchResult, html: str) -> str | None:
    """W3C Webmention §3.1.2: the HTTP Link header first, then the first <link>/<a> rel=webmention."""
    for link in result.links:
        if "webmention" in link.rels:
            return link.url
    soup = BeautifulSoup(html, "lxml")
    for el in soup.find_all(["link", "a"], href=True):
        rels: Any = el.get("rel") or []
        if "webmention" in [str(r).lower() for r in rels]:
            return urljoin(result.url, str(el["href"]))
    return None


def as2_alternate(result: FetchResult, html: str) -> str | None:
    """The page's `<link rel="alternate" type="application/activity+json">` (or Link header)."""
    types = ("application/activity+json", "application/ld+json")
    for link in result.links:
        if "alternate" in link.rels and (link.type or "").split(";")[0].strip() in types:
            return link.url
    for el in BeautifulSoup(html, "lxml").find_all("link", href=True):
        rels = [str(r).lower() for r in el.get("rel") or []]
        if "alternate" in rels and str(el.get("type", "")).split(";")[0].strip().lower() in types:
            return urljoin(result.url, str(el["href"]))
    return None


def creator_meta(html: str) -> str | None:
    """`<meta name="fediverse:creator" content="@name@host">` (Mastodon 4.3 author attribution)."""
    el = BeautifulSoup(html, "lxml").find("meta", attrs={"name": "fediverse:creator"})
    value = el.get("content") if el is not None else None
    return str(value).strip() if value else None


def handles(config: Config, blog: BlogConfig) -> tuple[str, str]:
    """(the bridge's handle, the blog-domain handle) of a blog, without the leading @."""
    domain = blog.handle_domain or (urlsplit(blog.url).netloc or "").lower()
    return f"{blog.name}@{config.server.host}", f"{blog.name}@{domain}"


def skew_seconds(date_header: str | None, now: datetime) -> float | None:
    if not date_header:
        return None
    try:
        return (parsedate_to_datetime(date_header) - now).total_seconds()
    except (TypeError, ValueError):
        return None


def field_sources(data: dict[str, Any]) -> list[str]:
    """Which fields came from where, one line (from `inspect`'s data)."""
    sources = data.get("sources", {})
    shown = [f"{name} ← {sources[name]}" for name in _FIELDS_SHOWN if sources.get(name)]
    return ["sources: " + ", ".join(shown)] if shown else []


# -- the checks ----------------------------------------------------------------------------


async def check_blog(config: Config, blog: BlogConfig, session: aiohttp.ClientSession) -> list[Point]:
    """Every point for one blog, in order."""
    points: list[Point] = []
    dates: list[tuple[str, str | None]] = []
    try:
        home = await fetch(session, blog.url)
        dates.append((blog.url, home.headers.get("Date")))
        points.append(Point("blog reachable", True, f"{blog.url} answered {home.status}"))
    except FetchError as exc:
        points.append(Point("blog reachable", False, f"{blog.url}: {exc}",
                            f"check blogs.url ({blog.url}) and that this machine can reach it"))
        return points + await _bridge_points(config, blog, session, dates) + await bluesky_points(config, blog)

    feed_url = blog.feed
    feed_error = ""
    if feed_url is None:
        try:
            link = await discover_feed(session, blog.url)
            feed_url = link.url if link else None
        except FetchError as exc:
            feed_error = str(exc)
    newest: str | None = None
    if feed_url:
        try:
            feed = (await read_feed(session, feed_url)).feed
            items = feed.items if feed else ()
            newest = next((item.url for item in items if item.url), None)
            points.append(Point("feed found", True, f"{feed_url} ({feed.kind if feed else '?'}, {len(items)} items)"))
        except (FetchError, ValueError) as exc:
            points.append(Point("feed found", False, f"{feed_url}: {exc}",
                                "set blogs.feed to the blog's RSS/Atom/JSON feed, or fix the feed"))
    else:
        points.append(Point("feed found", False, feed_error or "the home page links to no RSS, Atom or JSON feed "
                            "and has no h-feed", "add <link rel=\"alternate\" type=\"application/rss+xml\"> "
                            "to the home page, or set blogs.feed"))

    if newest is None:
        points.append(Point("recent post readable", False, "no post found in the feed",
                            "publish a post, or make the feed list post permalinks"))
        points.append(Point("author name and avatar", False, "no post to read the author from",
                            "publish a post with an author h-card"))
    else:
        points += await _post_points(config, blog, session, newest, feed_url, dates)
    points += await _handle_point(config, blog, session)
    return points + await _bridge_points(config, blog, session, dates) + await bluesky_points(config, blog)


async def _post_points(config: Config, blog: BlogConfig, session: aiohttp.ClientSession, url: str,
                       feed_url: str | None, dates: list[tuple[str, str | None]]) -> list[Point]:
    points: list[Point] = []
    try:
        read = await read_post(session, url, feed_url=feed_url, home_url=blog.url)
    except FetchError as exc:
        return [Point("recent post readable", False, f"{url}: {exc}", "check that the post's permalink answers 200"),
                Point("author name and avatar", False, "the post could not be read", "see above")]
    data = inspect_json(read.post, read.profile)
    readable = bool(data["content_html"] or data["title"])
    point = Point("recent post readable", readable, f"{url}" + ("" if readable else ": no title and no content found"),
                  "mark the post up with h-entry (e-content, p-name) — `bridge inspect URL` shows each field")
    point.notes += field_sources(data)
    point.notes += [f"problem: {p}" for p in read.problems]
    points.append(point)

    missing = gaps(read.post, profile_icon=bool(data["profile"]["icon"] or blog.avatar))
    points.append(Point("post fields found", not missing,
                        "content, date, author and picture" if not missing else
                        ", ".join(gap.what for gap in missing) + f" missing on {url}",
                        required=False, notes=[gap.line() for gap in missing]))

    name = data["author"]["name"] or data["profile"]["name"]
    photo = data["author"]["photo"] or data["profile"]["icon"] or blog.avatar
    detail = f"{name or 'no name'}, " + (f"avatar {photo}" if photo else "no avatar")
    points.append(Point("author name and avatar", bool(name and photo), detail,
                        "add an h-card with p-name and u-photo (or set display_name and avatar in [[blogs]])"))

    page = await fetch(session, url)
    dates.append((url, page.headers.get("Date")))
    html = page.text
    endpoint = webmention_endpoint(page, html)
    points.append(Point("webmention endpoint on posts", endpoint is not None, endpoint or f"none on {url}",
                        "install the WordPress Webmention plugin, or add <link rel=\"webmention\" href=\"…\">"))

    alternate = as2_alternate(page, html)
    ours = alternate is not None and urls.parse(config.server.base_url, alternate) is not None
    detail = alternate or "none"
    if alternate and not ours:
        detail += f" (not on the bridge, {config.server.base_url})"
    me = actor_id(config.server.base_url, blog.name)
    suggestion = urls.post_lookup(me, url)
    points.append(Point("rel=alternate ActivityPub link on posts", ours, detail,
                        f"add <link rel=\"alternate\" type=\"application/activity+json\" href=\"{me}/posts?url=PERMALINK\"> "
                        f"(here: {suggestion})", required=False))

    creator = creator_meta(html)
    expected = ["@" + h for h in handles(config, blog)]
    ok = creator is not None and creator.lower() in [e.lower() for e in expected]
    detail = "none" if creator is None else creator if ok else f"{creator} (expected {' or '.join(expected)})"
    points.append(Point("fediverse:creator meta tag", ok, detail,
                        f"add <meta name=\"fediverse:creator\" content=\"{expected[-1] if blog.handle_domain else expected[0]}\"> "
                        "to post pages",
                        required=False))
    return points


async def _handle_point(config: Config, blog: BlogConfig, session: aiohttp.ClientSession) -> list[Point]:
    _ours, theirs = handles(config, blog)
    domain = theirs.split("@", 1)[1]
    scheme = urlsplit(blog.url).scheme or "https"
    url = f"{scheme}://{domain}/.well-known/webfinger?resource=acct:{quote(theirs, safe='@:')}"
    me = actor_id(config.server.base_url, blog.name)
    fix = (f"redirect {scheme}://{domain}/.well-known/webfinger to {config.server.base_url}/.well-known/webfinger "
           "(keep the query string), and set handle_domain")
    try:
        result = await fetch(session, url, accept="application/jrd+json, application/json")
        jrd = json.loads(result.body)
        selves = [link.get("href") for link in jrd.get("links", [])
                  if isinstance(link, dict) and link.get("rel") == "self"]
        ok = me in selves
        detail = f"@{theirs} → {me}" if ok else f"@{theirs} answers, but names {', '.join(map(str, selves)) or 'no actor'}"
    except FetchError as exc:
        ok, detail = False, f"@{theirs}: {exc}"
    except (ValueError, AttributeError) as exc:
        ok, detail = False, f"@{theirs}: not a WebFinger document ({exc})"
    if ok and blog.handle_domain is None and domain != config.server.host:
        detail += " (set handle_domain to make it the account's canonical handle)"
    return [Point("@name@blog-domain handle", ok, detail, fix, required=blog.handle_domain is not None)]


async def _bridge_points(config: Config, blog: BlogConfig, session: aiohttp.ClientSession,
                         dates: list[tuple[str, str | None]]) -> list[Point]:
    points: list[Point] = []
    me = actor_id(config.server.base_url, blog.name)
    try:
        result = await fetch(session, me, accept=AP_ACCEPT)
        dates.append((me, result.headers.get("Date")))
        doc = json.loads(result.body)
        ok = isinstance(doc, dict) and doc.get("id") == me and bool(doc.get("publicKey"))
        detail = f"{me} serves @{handles(config, blog)[0]}" if ok else f"{me} answered, but not with this blog's actor"
        points.append(Point("bridge's public URL serves the actor", ok, detail,
                            "point the reverse proxy for server.base_url at this bridge (docs/deployment.md)"))
    except (FetchError, ValueError) as exc:
        points.append(Point("bridge's public URL serves the actor", False, f"{me}: {exc}",
                            "start `bridge serve` and route server.base_url to it through the TLS proxy"))
    try:
        key = await active_key(blog.name)
        points.append(Point("keys present", True, f"{key.algorithm} key {key.id} since {key.created_at:%Y-%m-%d}"))
    except NoKey:
        points.append(Point("keys present", False, f"no active signing key for {blog.name}",
                            "run `bridge migrate` (it makes missing keys)"))
    now = utcnow()
    skews = [(url, s) for url, header in dates if (s := skew_seconds(header, now)) is not None]
    if not skews:
        points.append(Point("clock sane", True, "no Date header to compare with; assumed right"))
    else:
        url, worst = max(skews, key=lambda pair: abs(pair[1]))
        ok = abs(worst) <= CLOCK_SKEW_SECONDS
        points.append(Point("clock sane", ok, f"{len(skews)} servers' clocks within {abs(worst):.0f} s of ours"
                            if ok else f"{urlsplit(url).netloc} is {worst:+.0f} s off this machine's clock",
                            "run NTP (systemd-timesyncd or chrony) on both machines"))
    slow = slow_settings(config)
    points.append(Point("delivery settings", not slow, "the defaults' speed (or faster)" if not slow else
                        "; ".join(slow), "remove those lines from the config (config.example.toml explains them)",
                        required=False))
    return points


async def bluesky_points(config: Config, blog: BlogConfig) -> list[Point]:
    """Bluesky through Bridgy Fed (bridge/publish/following.py), for a blog that opted in or still
    has its follow stored: the follow and its answer, the handle, the bot's follow back, and
    what Bridgy Fed requires of an account (bridge/as2/bridgyfed.py)."""
    status = (await statuses(config)).get(blog.name)
    if status is None:
        return []
    name, bot, on = "Bluesky through Bridgy Fed", status.bot, f"@{status.handle} ({status.profile_url})"
    when = f"{status.since:%Y-%m-%d %H:%M} UTC" if status.since else ""
    if not status.opted_in:
        return [Point(name, True, f"opted out: the follow of {bot} is undone at the next start of `bridge serve`",
                      required=False)]
    if status.state == "accepted":
        point = Point(name, True, f"{bot} accepted the follow ({when}); on Bluesky as {on}")
    elif status.state == "pending":
        point = Point(name, False, f"the follow of {bot} is not answered yet (sent {when}); on Bluesky it will be {on}",
                      "keep `bridge serve` running: Bridgy Fed answers within minutes (the dashboard's Jobs page "
                      "shows a delivery that fails)")
    elif status.state == "rejected":
        point = Point(name, False, f"{bot} rejected the follow ({when}); it would be {on}",
                      "meet Bridgy Fed's requirements (below); then set bluesky = false and restart `bridge serve`, "
                      "and bluesky = true and restart again: the follow is asked anew")
    else:
        point = Point(name, False, f"{bot} is not followed yet; on Bluesky it will be {on}",
                      "start (or restart) `bridge serve`: it follows the bot at start")
    if status.state == "accepted":
        point.notes.append(_followed_back(status))
    if status.problem:
        point.notes.append(status.problem)
    points = [point]
    try:
        unmet = unmet_requirements(await actor_document(config.server.base_url, blog), utcnow())
    except NoActorKey:
        return points  # `keys present` says it
    met = f"a profile picture, and an account older than {OLD_ACCOUNT_AGE.days} days"
    points.append(Point("Bridgy Fed's requirements", not unmet, "; ".join(unmet) or met,
                        "set avatar in [[blogs]] (or give the blog's h-card a u-photo); an account's age only "
                        "takes waiting", required=False))
    return points


def _followed_back(status: BlueskyStatus) -> str:
    """Whether the bot follows the blog back: what the blog delivers reaches Bridgy Fed only so."""
    if status.bot_follows == "accepted":
        return f"{status.bot} follows the blog back: its posts reach Bluesky"
    if status.bot_follows == "pending":
        return (f"{status.bot} follows the blog back, waiting for approval: `bridge followers approve "
                f"{status.bot_actor}` (posts reach Bluesky only through that follow)")
    return (f"{status.bot} does not follow the blog back yet: Bridgy Fed does after accepting, and posts reach "
            "Bluesky only through that follow")
