"""Reading any blog: a post page (and what it links) → a merged Post and the blog's Profile.

The flow: fetch the page; parse it once (microformats, metaformats); follow the links
every WordPress page carries (its REST API JSON, and from there the author, featured
image and terms; its oEmbed JSON); when the author is still incomplete, fetch the
rel=author page for its h-card (the authorship algorithm); when content, date or author
are still missing, look the post up in the blog's feed. Then merge field by field
(bridge/blog/merge.py). A fallback that fails is noted in `problems`, never fatal: only the
page itself must be readable.

Network code is here and in bridge/net/fetch.py; `build_post`/`build_profile` are pure and
are what tests and bench/read.py run without a network.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bridge.blog import article, feeds, hcard, jsonld, merge, metaformats, microformats, wordpress
from bridge.blog.post import Author, Link, Post, Profile, date_in_path, same_url
from bridge.net.fetch import JSON_ACCEPT, FetchError, FetchResult, HTTPStatusError, fetch


@dataclass(frozen=True)
class WordPressData:
    """A post's REST API JSON and the JSON it links to (None where absent or failed)."""

    post: Mapping[str, Any]
    user: Mapping[str, Any] | None = None
    media: Mapping[str, Any] | None = None
    categories: Any = None
    tags: Any = None


@dataclass(frozen=True)
class ReadResult:
    """What reading one post gives: the post, the blog's profile, and how it was read."""

    post: Post  # post.sources says where each field came from
    profile: Profile
    url: str  # the page's final URL, after redirects
    etag: str | None = None  # the page's validators, for a conditional re-read
    last_modified: str | None = None
    feed_url: str | None = None  # the feed consulted or declared, if any
    fetched: tuple[str, ...] = ()  # every URL fetched, in order
    problems: tuple[str, ...] = ()  # fallbacks that failed, e.g. "wp-rest: … HTTP 401"
    # Why the post's WordPress REST JSON says it is no longer public although its page
    # answered (a page cache's stale copy of a trashed post): "rest_forbidden",
    # "rest_post_invalid_id", "status trash" (wordpress.rest_gone). None without a REST link.
    rest_gone: str | None = None


@dataclass(frozen=True)
class FeedResult:
    """A fetched feed (None when `not_modified`) and its validators for the next poll."""

    url: str
    feed: feeds.Feed | None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


# --- pure assembly ------------------------------------------------------------------

ESSENTIAL = ("content_html", "published")


async def parse_off_loop(html: str, url: str) -> microformats.Mf2Page:
    """`microformats.parse_page` in a worker thread: a 60 KB legacy-class page takes mf2py
    tens of milliseconds, during which the event loop would serve no one."""
    return await asyncio.to_thread(microformats.parse_page, html, url)


def post_candidates(page: microformats.Mf2Page, final_url: str, *,
                    wordpress_data: WordPressData | None = None,
                    oembed: Mapping[str, Any] | None = None,
                    feed: feeds.Feed | None = None,
                    author_profile: Profile | None = None) -> list[Post]:
    """Every source's partial post for one page, unmerged."""
    out: list[Post] = []
    entry = microformats.post_from_mf2(page)
    if entry is not None:
        out.append(entry)
    if author_profile is not None and author_profile.name:
        out.append(Post(author=Author(name=author_profile.name, url=author_profile.url,
                                      photo=author_profile.icon.url if author_profile.icon else None),
                        sources={"_": author_profile.sources.get("_", "mf2")}))
    if wordpress_data is not None:
        out.append(wordpress.post_from_rest(
            wordpress_data.post, user=wordpress_data.user, media=wordpress_data.media,
            categories=wordpress_data.categories, tags=wordpress_data.tags))
    if feed is not None:
        found = feed.find(final_url)
        if found is None and (canonical := metaformats.canonical_url(page.soup, final_url)):
            found = feed.find(canonical)
        if found is not None:
            out.append(found.post)
    if oembed is not None and (from_oembed := wordpress.post_from_oembed(oembed)):
        out.append(from_oembed)
    if (from_jsonld := jsonld.post_from_jsonld(page.soup, final_url)) is not None:
        out.append(from_jsonld)
    out.append(article.post_from_html(page.soup, final_url))
    if (day := date_in_path(final_url)) is not None:
        out.append(Post(published=day, sources={"_": "url"}))
    site = (feed.title if feed is not None else None) or (
        oembed.get("provider_name") if oembed is not None else None)
    out.extend(metaformats.posts_from_meta(page.soup, final_url,
                                           site=site if isinstance(site, str) else None))
    out.append(Post(url=final_url, sources={"_": "fetch-url"}))
    return out


def build_post(page: microformats.Mf2Page, final_url: str, *,
               wordpress_data: WordPressData | None = None,
               oembed: Mapping[str, Any] | None = None,
               feed: feeds.Feed | None = None,
               author_profile: Profile | None = None) -> tuple[Post, Profile]:
    """Merge what the page and its fallbacks say into the post and the blog's profile."""
    candidates = post_candidates(page, final_url, wordpress_data=wordpress_data, oembed=oembed,
                                 feed=feed, author_profile=author_profile)
    post = merge.merge_posts(candidates, page_title=metaformats.document_title(page.soup))

    profiles: list[Profile | None] = [merge.profile_from_author(post),
                                      hcard.profile_from_mf2(page), author_profile]
    if wordpress_data is not None and wordpress_data.user:
        profiles.append(wordpress.profile_from_user(wordpress_data.user))
    if oembed is not None:
        profiles.append(wordpress.profile_from_oembed(oembed))
    profiles.extend(metaformats.profiles_from_meta(page.soup, final_url, home=False))
    if feed is not None:
        profiles.append(feeds.profile_from_feed(feed))
    return post, merge.merge_profiles(p for p in profiles if p is not None)


def build_profile(home: microformats.Mf2Page, final_url: str, *, feed: feeds.Feed | None = None,
                  author_profile: Profile | None = None) -> Profile:
    """The blog's profile from its home page, its feed, and its newest post's author."""
    candidates: list[Profile | None] = [
        hcard.profile_from_mf2(home),
        *metaformats.profiles_from_meta(home.soup, final_url, home=True),
        Profile(url=final_url, sources={"_": "fetch-url"}),
        feeds.profile_from_feed(feed) if feed is not None else None,
        author_profile,
    ]
    return merge.merge_profiles(p for p in candidates if p is not None)


def _missing(post: Post) -> bool:
    return any(getattr(post, name) is None for name in ESSENTIAL) or not (
        post.author and post.author.name)


# Sources that guess (the page's visible markup, its <head>): a field only they gave is
# worth checking against the feed, which the blog writes for machines.
_GUESSED = frozenset({"html", "opengraph", "meta", "json-ld", "rel-canonical", "fetch-url"})


def _wants_feed(post: Post) -> bool:
    """Whether the feed may tell more: an essential field missing, or only guessed."""
    return _missing(post) or any(post.sources.get(name) in _GUESSED
                                 for name in (*ESSENTIAL, "title", "author.name"))


def _author_incomplete(post: Post) -> bool:
    return not (post.author and post.author.name and post.author.photo)


# --- network ------------------------------------------------------------------------

class _Log:
    """The URLs fetched and the fallbacks that failed, for ReadResult."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.problems: list[str] = []

    async def get(self, session: aiohttp.ClientSession, url: str, **kwargs: Any) -> FetchResult:
        self.fetched.append(url)
        return await fetch(session, url, **kwargs)

    async def json(self, session: aiohttp.ClientSession, url: str | None, label: str) -> Any:
        if not url:
            return None
        try:
            return json.loads((await self.get(session, url, accept=JSON_ACCEPT)).text)
        except (FetchError, ValueError) as error:
            self.problems.append(f"{label}: {error}")
            return None


def _decoded(body: bytes) -> Any:
    """An error response's JSON (a WordPress error: code, message, data), None if not JSON."""
    try:
        return json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        return None


async def _wordpress(session: aiohttp.ClientSession, url: str | None,
                     log: _Log) -> tuple[WordPressData | None, str | None]:
    """The post's REST JSON and what it links to; and why that JSON says the post is no
    longer public (wordpress.rest_gone), else None."""
    if not url:
        return None, None
    try:
        data = json.loads((await log.get(session, url, accept=JSON_ACCEPT)).text)
    except HTTPStatusError as error:
        log.problems.append(f"wp-rest: {error}")
        return None, wordpress.rest_gone(error.status or 0, _decoded(error.body))
    except (FetchError, ValueError) as error:
        log.problems.append(f"wp-rest: {error}")
        return None, None
    gone = wordpress.rest_gone(200, data)
    if not wordpress.is_rest_post(data):
        log.problems.append(f"wp-rest: {url}: not a WordPress post")
        return None, gone
    links = wordpress.rest_links(data)
    user, media, categories, tags = await asyncio.gather(
        log.json(session, links.author, "wp-rest author"),
        log.json(session, links.featured_media, "wp-rest media"),
        log.json(session, links.categories, "wp-rest categories"),
        log.json(session, links.tags, "wp-rest tags"),
    )
    return WordPressData(post=data, user=user if isinstance(user, Mapping) else None,
                         media=media if isinstance(media, Mapping) else None,
                         categories=categories, tags=tags), gone


async def _author_page(session: aiohttp.ClientSession, url: str, log: _Log) -> Profile | None:
    try:
        result = await log.get(session, url)
    except FetchError as error:
        log.problems.append(f"rel=author: {error}")
        return None
    return hcard.profile_from_mf2(await parse_off_loop(result.text, result.url))


async def read_feed(session: aiohttp.ClientSession, feed_url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> FeedResult:
    """Fetch and parse a feed (RSS, Atom, JSON Feed, or an HTML page's h-feed).

    Raises FetchError when it cannot be fetched, ValueError when it is not a feed.
    """
    result = await fetch(session, feed_url, accept=feeds.ACCEPT, etag=etag,
                         last_modified=last_modified)
    if result.not_modified:
        return FeedResult(url=result.url, feed=None, not_modified=True,
                          etag=result.etag or etag, last_modified=result.last_modified or last_modified)
    if result.content_type in ("text/html", "application/xhtml+xml"):
        page = await parse_off_loop(result.text, result.url)
        if not microformats.has_microformats(page):  # a maintenance or error page, not an empty h-feed
            raise ValueError(f"{result.url}: an HTML page without microformats, not a feed")
        feed = feeds.feed_from_mf2(page)
    else:
        feed = feeds.parse_feed(result.body, result.url, result.headers.get("Content-Type"))
    return FeedResult(url=result.url, feed=feeds.with_author(feed), etag=result.etag,
                      last_modified=result.last_modified)


async def read_post(session: aiohttp.ClientSession, url: str, *,
                    feed_url: str | None = None, feed: feeds.Feed | None = None,
                    home_url: str | None = None) -> ReadResult:
    """Read one blog post. Raises FetchError if the page itself cannot be fetched
    (HTTPStatusError with status 404 or 410 when the post is gone). A page that answers
    while its WordPress REST JSON says the post is not public has `rest_gone` set.

    The blog's feed is a source too, when the page leaves something to find (`_wants_feed`):
    `feed`, one already read (a poll's), else `feed_url` if known, else the feed the page
    declares, else the one the blog's home page declares (`home_url`, by default the site's
    root: Hugo themes link the feed from there only).
    """
    log = _Log()
    page_result = await log.get(session, url)
    page = await parse_off_loop(page_result.text, page_result.url)
    links: Sequence[Link] = (*microformats.rel_links(page), *page_result.links)

    (wordpress_data, rest_gone), oembed = await asyncio.gather(
        _wordpress(session, wordpress.rest_link(links), log),
        log.json(session, wordpress.oembed_link(links), "oembed"),
    )
    oembed = oembed if isinstance(oembed, Mapping) else None
    post, _ = await asyncio.to_thread(build_post, page, page_result.url, wordpress_data=wordpress_data, oembed=oembed)

    author_profile = None
    if _author_incomplete(post):
        _, follow = hcard.entry_author(page)
        if follow and not same_url(follow, page_result.url):
            author_profile = await _author_page(session, follow, log)
            post, _ = build_post(page, page_result.url, wordpress_data=wordpress_data,
                                 oembed=oembed, author_profile=author_profile)

    declared = feed_url or (feed.url if feed is not None else None) or (
        link.url if (link := feeds.choose_feed(links)) else None)
    if not _wants_feed(post):
        feed = None  # a reading that does not depend on whether the post is still listed
    elif feed is None:
        if declared is None:
            declared = await _home_feed(session, home_url or _site_root(page_result.url), log)
        if declared is not None:
            log.fetched.append(declared)
            try:
                feed = (await read_feed(session, declared)).feed
            except (FetchError, ValueError) as error:
                log.problems.append(f"feed: {error}")
    post, profile = await asyncio.to_thread(build_post, page, page_result.url, wordpress_data=wordpress_data,
                                            oembed=oembed, feed=feed, author_profile=author_profile)
    if declared and not profile.feed_url:
        profile = replace(profile, feed_url=declared,
                          sources={**profile.sources, "feed_url": "meta"})
    return ReadResult(post=post, profile=profile, url=page_result.url, etag=page_result.etag,
                      last_modified=page_result.last_modified, feed_url=declared,
                      fetched=tuple(log.fetched), problems=tuple(log.problems), rest_gone=rest_gone)


def _site_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


async def _home_feed(session: aiohttp.ClientSession, home_url: str, log: _Log) -> str | None:
    """The feed the blog's home page declares."""
    log.fetched.append(home_url)
    try:
        link = await discover_feed(session, home_url)
    except FetchError as error:
        log.problems.append(f"home feed: {error}")
        return None
    return link.url if link is not None else None


async def discover_feed(session: aiohttp.ClientSession, home_url: str) -> Link | None:
    """The blog's feed, from its home page: a rel=alternate RSS/Atom/JSON Feed link,
    else the home page itself when it carries an h-feed (type "text/html").
    """
    result = await fetch(session, home_url)
    page = await parse_off_loop(result.text, result.url)
    return _discover(page, result)


def _discover(page: microformats.Mf2Page, result: FetchResult) -> Link | None:
    chosen = feeds.choose_feed((*microformats.rel_links(page), *result.links))
    if chosen is not None:
        return chosen
    if feeds.feed_from_mf2(page).items:
        return Link(url=result.url, rels=("alternate",), type="text/html")
    return None


async def read_profile(session: aiohttp.ClientSession, home_url: str, *,
                       feed_url: str | None = None) -> Profile:
    """The blog's profile (the future actor), from its home page.

    The authorship algorithm first: the home page's representative h-card. Without one,
    when every item of the feed names the same author, the blog is that person's: their
    name, avatar and bio come from the newest post's authorship (its h-card, or
    WordPress's user). Then the site's name, description and icon; the feed's.
    Operator overrides are applied by the caller with merge.with_overrides().
    """
    result = await fetch(session, home_url)
    home = await parse_off_loop(result.text, result.url)
    link = Link(url=feed_url, rels=("alternate",)) if feed_url else _discover(home, result)
    feed = None
    if link is not None:
        try:
            feed = (await read_feed(session, link.url)).feed
        except (FetchError, ValueError):
            feed = None
    author_profile = None
    card = hcard.profile_from_mf2(home)
    if (card is None or not (card.name and card.icon)) and feed is not None and feed.items:
        if feeds.single_author(feed) and feed.items[0].url:
            try:
                newest = await read_post(session, feed.items[0].url, feed_url=link.url if link else None)
                author_profile = _person(newest.profile)
            except FetchError:
                author_profile = None
    profile = build_profile(home, result.url, feed=feed, author_profile=author_profile)
    if link is not None and not profile.feed_url:
        profile = replace(profile, feed_url=link.url, sources={**profile.sources, "feed_url": "meta"})
    return profile


def _person(profile: Profile) -> Profile:
    """Only the person-level fields of a post's profile (name, bio, avatar, links): the
    profile's URL stays the home page."""
    keep = ("name", "summary", "icon", "links")
    return Profile(name=profile.name, summary=profile.summary, icon=profile.icon,
                   links=profile.links,
                   sources={k: v for k, v in profile.sources.items() if k in keep})

