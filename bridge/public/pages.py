"""The bridge's pages for people (the front door, profiles, the remote-interaction form): what
they show of a blog, and their rendering.

Server-rendered with Jinja2 (autoescaped: a blog's name and bio are text, never markup) from
bridge/public/templates. No script, font or stylesheet from elsewhere: the CSS is inline and
the only script (the copy button, a progressive enhancement) carries the response's nonce,
which the Content-Security-Policy requires of every script and style.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bridge.as2.actor import handle
from bridge.blog.content import text_of
from bridge.blog.merge import with_blog_overrides
from bridge.blog.post import Profile, post_from_dict, profile_from_dict
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.models import BlogPost, BlogState, Follower, FollowState, PostState

TEMPLATES = Path(__file__).parent / "templates"
RECENT_POSTS = 10  # posts listed on a profile
UNTITLED_CHARS = 90  # of an untitled post's text, as its line in the list

log = logging.getLogger("bridge.public")


@dataclass(frozen=True, slots=True)
class PostLine:
    """One post as a profile lists it: its title (or the start of its text) and its permalink."""

    title: str
    url: str
    published: datetime | None
    object_id: str


@dataclass(frozen=True, slots=True)
class BlogCard:
    """A blog as its pages show it."""

    name: str
    display_name: str
    handle: str  # "@name@host", the canonical handle (handle_domain when set)
    actor: str
    profile_page: str
    blog_url: str
    avatar: str | None  # http(s) only
    bio: str | None  # plain text
    followers: int
    posts: tuple[PostLine, ...]
    discoverable: bool


def _http(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def post_line(base_url: str, row: BlogPost) -> PostLine:
    post = post_from_dict(row.data, row.sources)
    title = (post.title or "").strip()
    if not title:
        text = post.summary or (text_of(post.content_html) if post.content_html else "")
        text = " ".join(text.split())
        title = text if len(text) <= UNTITLED_CHARS else text[:UNTITLED_CHARS].rsplit(" ", 1)[0] + "…"
    object_id = urls.post_object_id(urls.actor_id(base_url, row.blog), row.id)
    return PostLine(title=title or row.url, url=row.url, published=row.published or post.published,
                    object_id=object_id)


async def blog_card(config: Config, blog: BlogConfig, *, posts: int = RECENT_POSTS) -> BlogCard:
    """What the pages say about `blog`: the profile the fediverse sees (the stored one with the
    config's overrides, as bridge/as2/actor.py makes it), its accepted followers, its latest posts."""
    base = config.server.base_url
    state = await BlogState.get_or_none(name=blog.name)
    stored = profile_from_dict(state.profile) if state is not None and state.profile else Profile(url=blog.url)
    profile = with_blog_overrides(stored, blog)
    followers = await Follower.filter(blog=blog.name, state=FollowState.ACCEPTED).count()
    rows = await BlogPost.filter(blog=blog.name, state=PostState.LIVE, published__isnull=False) \
        .order_by("-published", "-id").limit(posts) if posts else []
    return BlogCard(
        name=blog.name,
        display_name=profile.name or profile.site_name or blog.name,
        handle="@" + handle(blog, config.server.host),
        actor=urls.actor_id(base, blog.name),
        profile_page=urls.profile_page(base, blog.name),
        blog_url=blog.url,
        avatar=_http(profile.icon.url if profile.icon else None),
        bio=(profile.summary or "").strip() or None,
        followers=followers,
        posts=tuple(post_line(base, row) for row in rows),
        discoverable=blog.discoverable,
    )


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = _day
    return env


def _day(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%B %Y}"


class Pages:
    """Renders the templates with what every page needs (the bridge's URLs, a nonce)."""

    def __init__(self, config: Config) -> None:
        self.base = config.server.base_url
        self.env = environment()

    def render(self, template: str, *, status: int = 200, cache: str = "no-store", **context: Any) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        text = self.env.get_template(template).render(
            nonce=nonce, front_door=urls.front_door(self.base), interact_action=urls.interact(self.base), **context)
        response = web.Response(text=text, status=status, content_type="text/html")
        response.headers["Cache-Control"] = cache
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src http: https:; "
            "base-uri 'none'; frame-ancestors 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        return response

    def refuse(self, template: str, status: int, reason: str, **context: Any) -> web.Response:
        """A page that says why it could not do what was asked; logged once (`public.refused`)."""
        log.info("public.refused status=%d reason=%r", status, reason[:300])
        return self.render(template, status=status, error=reason, **context)
