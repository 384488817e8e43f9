"""`bridge init` for a new install, starting from the blog's address (issue 21):

1. the answers: `--blog URL` and `--base-url URL`, else on a terminal two questions, else
   the old defaults (a placeholder blog, not read);
2. where the blog and the bridge are: on this machine or a private network, the config
   allows private addresses and listens on the base URL's own port;
3. the blog read through the bridge's own reader and guarded client, as the daemon will
   read it: its name (→ the handle), its feed, what it lacks; a blog that cannot be read
   stops here, with nothing written;
4. the config written whole, mode 600 (bridge/config/starter.py renders it), with a new
   admin token;
5. after the schema and keys (commands.cmd_init): `bridge check` in-process while the app
   answers on its listen address for the check, then the addresses to open.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bridge.cli.exits import CommandFailed
from bridge.config import ENV_ADMIN_TOKEN, Config, ConfigError, parse_config
from bridge.config.starter import (
    DEFAULT_BASE_URL,
    PLACEHOLDER_BLOG_URL,
    Starter,
    address_locality,
    handle_from,
    host_locality,
    is_ip,
    listen_for,
    normalise_url,
    render,
    served_directly,
)
from bridge.core.urls import BLOG_NAME

if TYPE_CHECKING:
    import argparse

    import aiohttp

RESOLVE_SECONDS = 5.0  # a name that does not resolve by then is taken for a public one


@dataclass(frozen=True, slots=True)
class Answers:
    base_url: str
    blog_url: str
    read: bool  # read the blog (--blog, or an answer); else written as given


@dataclass
class Found:
    """What reading the blog found."""

    url: str  # the home page's final URL
    site_name: str | None = None
    author_name: str | None = None
    feed: str | None = None
    feed_kind: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NewConfig:
    """What `write_starter` wrote, for the closing lines."""

    path: Path
    token: str
    read: bool


# -- 1. the answers ------------------------------------------------------------------------


def interactive() -> bool:
    """Questions only on a terminal: a script, a pipe or CI gets the defaults, never a prompt."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # a closed or odd stdin
        return False


def answers(args: argparse.Namespace) -> Answers:
    """The flags, and on a terminal the questions for those not given."""
    given_blog = args.blog or args.blog_url
    blog = normalise_url(given_blog, "--blog" if args.blog else "--blog-url") if given_blog else None
    base = normalise_url(args.base_url, "--base-url", origin=True) if args.base_url else None
    read = args.blog is not None
    if interactive() and (blog is None or base is None):
        print("A new config: two questions (Enter takes what is in brackets).", flush=True)
        if blog is None:
            blog = _ask("Your blog's home page, e.g. https://myblog.example/ (Enter: fill it in later)",
                        None, origin=False)
            read = blog is not None
        if base is None:
            print("The bridge's own public address: https behind a TLS proxy in production; it is part of\n"
                  "every fediverse id of the account, so choose it once.", flush=True)
            base = _ask("The bridge's address", DEFAULT_BASE_URL, origin=True)
    return Answers(base_url=base or DEFAULT_BASE_URL, blog_url=blog or PLACEHOLDER_BLOG_URL, read=read)


def _ask(question: str, default: str | None, *, origin: bool) -> str | None:
    """One question until its answer is a URL; Enter takes `default`."""
    prompt = f"{question} [{default}]: " if default else f"{question}: "
    while True:
        try:
            answer = input(prompt).strip()
        except EOFError:
            raise CommandFailed("no answer (end of input): nothing written") from None
        if not answer:
            return default
        try:
            return normalise_url(answer, "answer", origin=origin)
        except ConfigError as exc:
            print(f"  {answer!r}: {exc.problem}. Again:", flush=True)


# -- 2. where things are -------------------------------------------------------------------


async def locality(url: str) -> str | None:
    """Whether the URL's host is on this machine or a private network: by its name, else by
    the addresses it resolves to (all of them local; a mixed answer is the guard's to refuse)."""
    host = urlsplit(url).hostname or ""
    by_name = host_locality(host)
    if by_name is not None or is_ip(host):
        return by_name
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), RESOLVE_SECONDS)
    except (OSError, TimeoutError):
        return None  # not resolvable (yet): a public name whose DNS is still to come
    found = [address_locality(str(info[4][0])) for info in infos]
    return found[0] if found and all(found) else None


# -- 3. reading the blog -------------------------------------------------------------------


async def read_blog(session: aiohttp.ClientSession, url: str) -> Found:
    """The blog as the daemon will read it, with a line for each step. Raises FetchError
    when the home page cannot be read."""
    from bridge.blog.gaps import gaps
    from bridge.net.fetch import FetchError, fetch
    from bridge.publish.reader import read_feed, read_post, read_profile

    home = await fetch(session, url)
    moved = f", redirected from {url}" if home.url != url else ""
    print(f"  home page: {home.url} answered {home.status}{moved}", flush=True)
    found = Found(url=home.url)
    profile = await read_profile(session, home.url)
    found.site_name, found.author_name = profile.site_name, profile.name
    avatar = "with an avatar" if profile.icon else "no avatar"
    print(f"  name: {profile.site_name or '(no site name)'}; author: {profile.name or '(none)'}, {avatar}"
          + (f" (from {profile.sources.get('name')})" if profile.sources.get("name") else ""), flush=True)

    newest = None
    if profile.feed_url:
        try:
            feed = (await read_feed(session, profile.feed_url)).feed
        except (FetchError, ValueError) as exc:
            found.warnings.append(f"the feed {profile.feed_url} cannot be read ({exc}): set feed in [[blogs]]")
        else:
            items = feed.items if feed else ()
            found.feed, found.feed_kind = profile.feed_url, feed.kind if feed else None
            print(f"  feed: {found.feed} ({found.feed_kind}, {len(items)} items)", flush=True)
            newest = next((item.url for item in items if item.url), None)
            if newest is None:
                found.warnings.append("the feed lists no post yet: the bridge publishes from the next one")
    else:
        found.warnings.append("no feed on the home page (no RSS, Atom or JSON Feed link, no h-feed): new posts "
                              "go unnoticed; add <link rel=\"alternate\" type=\"application/rss+xml\" href=\"…\"> "
                              "to the home page, or set feed in [[blogs]]")
    if newest is not None:
        try:
            post = await read_post(session, newest, feed_url=found.feed, home_url=found.url)
        except FetchError as exc:
            found.warnings.append(f"the newest post cannot be read: {exc}")
        else:
            sources = set(post.post.sources.values())
            markup = ("h-entry" if "mf2" in sources else
                      "legacy hentry classes" if "mf1" in sources else None)
            print(f"  newest post: {newest} ({markup or 'no h-entry'})", flush=True)
            if markup is None:
                found.warnings.append(f"no h-entry on {newest}: its fields are guessed from "
                                      f"{', '.join(sorted(sources - {'fetch-url'}))}; mark posts up with h-entry "
                                      "(docs/blog-setup.md; `bridge inspect URL` shows each field)")
            found.warnings += [gap.line() for gap in gaps(post.post, profile_icon=profile.icon is not None)]
    for warning in found.warnings:
        print(f"  warning: {warning}", flush=True)
    return found


# -- 4. writing it -------------------------------------------------------------------------


async def write_starter(args: argparse.Namespace, path: Path) -> NewConfig:
    """Ask, read, then write the whole config at once: nothing is written before the blog
    has been read (a blog that cannot be read leaves no file behind)."""
    from bridge.app import new_http_session
    from bridge.net.fetch import FetchError

    given = answers(args)
    if args.blog_name is not None and not BLOG_NAME.fullmatch(args.blog_name):
        raise ConfigError("--blog-name", f"{args.blog_name!r} is not a valid handle: use lower-case letters, "
                                         "digits, '_', and '.' or '-' inside")
    base_where = await locality(given.base_url)
    blog_where = await locality(given.blog_url) if given.blog_url != PLACEHOLDER_BLOG_URL else None
    private_reason = _why_private(blog_where, base_where)
    draft = _draft(given, private=private_reason is not None, path=path)

    found = Found(url=given.blog_url)
    if given.read:
        where = f" (on {blog_where}: private addresses allowed)" if blog_where else ""
        print(f"reading the blog at {given.blog_url}{where}", flush=True)
        async with new_http_session(draft) as session:
            try:
                found = await read_blog(session, given.blog_url)
            except FetchError as exc:
                raise CommandFailed(
                    f"cannot read the blog at {given.blog_url}: {exc.reason}. Nothing written: check the "
                    "address (and that this machine reaches it), or give --blog-url URL to write the config "
                    "without reading the blog") from exc
    if args.blog_name:
        name, origin = args.blog_name, "--blog-name"
    elif given.read:
        name, origin = handle_from(found.url, found.site_name or found.author_name)
    else:
        name, origin = "blog", "a default"  # as before issue 21: the placeholder's account
    starter = Starter(
        base_url=given.base_url, blog_name=name, blog_url=found.url, admin_token=secrets.token_urlsafe(32),
        listen=listen_for(given.base_url, base_where), feed=found.feed, feed_kind=found.feed_kind,
        site_name=found.site_name, author_name=found.author_name, private_reason=private_reason,
        direct=served_directly(given.base_url, base_where), read=given.read,
    )
    text = render(starter)
    parse_config(tomllib.loads(text), path=path, env={})  # what is written loads, or nothing is written
    _write_new(path, text)
    host = urlsplit(given.base_url).netloc
    named = f" (named from {origin}; --blog-name NAME chooses another)" if origin.startswith("the blog") else ""
    print(f"account: @{name}@{host}{named}", flush=True)
    print(f"config: wrote {path} (mode 600: it holds the admin token)", flush=True)
    if private_reason:
        print(f"local setup: {private_reason}, so the config allows private addresses and listens on "
              f"{starter.listen}\n  (for production: a public https base_url behind a TLS proxy, and "
              "security.allow_private_addresses = false: docs/deployment.md)", flush=True)
    if given.blog_url == PLACEHOLDER_BLOG_URL:
        print(f"  {given.blog_url} is a placeholder: edit blogs[0].url (`bridge init --blog URL` on a new "
              "config reads the blog and fills it in)", flush=True)
    elif not given.read:
        print(f"  {given.blog_url} is written as given, not read: `bridge check` reads it", flush=True)
    return NewConfig(path=path, token=starter.admin_token, read=given.read)


def _why_private(blog: str | None, base: str | None) -> str | None:
    """Why the config allows private addresses, in words ("the blog and the base URL are on
    this machine"); None when both are public."""
    if blog and base:
        return f"the blog and the base URL are on {blog}" if blog == base else \
            f"the blog is on {blog} and the base URL on {base}"
    if blog or base:
        return f"the {'blog' if blog else 'base URL'} is on {blog or base}"
    return None


def _draft(given: Answers, *, private: bool, path: Path) -> Config:
    """The settings the blog is read with: the guarded client's address rule and User-Agent
    are those of the config about to be written."""
    return parse_config({"server": {"base_url": given.base_url},
                         "security": {"allow_private_addresses": private},
                         "blogs": [{"name": "blog", "url": given.blog_url}]}, path=path, env={})


def _write_new(path: Path, text: str) -> None:
    """Create the file readable by its owner only, whole or not at all; never over one that
    appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandFailed(f"{path} appeared meanwhile: left as it is") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


# -- 5. the check and the way in -----------------------------------------------------------


async def check_new(config: Config) -> bool:
    """`bridge check` on the new config, with the app answering on its listen address
    meanwhile (no workers: nothing is polled or sent), so the "public URL serves the actor"
    point says whether the base URL reaches this bridge, not that it is not started yet."""
    from aiohttp import web

    from bridge.app import make_app, new_http_session
    from bridge.cli.commands import print_points
    from bridge.ops.check import check_blog

    listen = f"{config.server.listen_host}:{config.server.listen_port}"
    print(f"checking (as `bridge check` does; the bridge answers on {listen} meanwhile)", flush=True)
    runner = web.AppRunner(make_app(config, workers=False), access_log=None)
    await runner.setup()  # the database (migrated, keys made), the app's HTTP client
    ok = True
    try:
        try:
            await web.TCPSite(runner, config.server.listen_host, config.server.listen_port).start()
        except OSError as exc:
            print(f"  {listen} is taken ({exc.strerror}): the check asks whatever answers there", flush=True)
        async with new_http_session(config) as session:
            for blog in config.blogs:
                ok &= print_points(config, blog, await check_blog(config, blog, session))
    finally:
        await runner.cleanup()
    return ok


async def after_init(config: Config, new: NewConfig) -> None:
    """The closing lines of a new install: the check (when the blog was read), the token
    (printed this once), the addresses."""
    base = config.server.base_url
    if new.read:
        if not await check_new(config):
            print("init is done; fix the points marked ✗ above, then run `bridge check` again", flush=True)
    else:
        print("then: `bridge check` checks the setup against the live blog", flush=True)
    print(f"admin token: {new.token}", flush=True)
    print(f"  shown this once; it is server.admin_token in {new.path}: keep that file private", flush=True)
    if os.environ.get(ENV_ADMIN_TOKEN):
        print(f"  note: {ENV_ADMIN_TOKEN} is set in this environment and wins over the file's token", flush=True)
    print("start it: `bridge serve`, then open", flush=True)
    print(f"  the front door: {base}/", flush=True)
    print(f"  the dashboard:  {base}/admin (log in with the admin token)", flush=True)
