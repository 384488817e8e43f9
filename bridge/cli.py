"""The `bridge` command line (also `python -m bridge`).

Exit codes: 0 done, 1 the operation failed, 2 usage or configuration error.
Every command takes ``-c/--config PATH`` (default `$BRIDGE_CONFIG`, else
``./config.toml``) before or after the command name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bridge import __version__
from bridge.config import BlogConfig, Config, ConfigError, config_path, load_config, starter_config
from bridge.cli_interactions import cmd_interactions, cmd_webmention_send
from bridge.core.logs import setup_logging

if TYPE_CHECKING:
    from bridge.blog.post import Post

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandFailed(Exception):
    """The operation could not be done; the message says why (exit 1)."""


Command = Callable[[argparse.Namespace, Config], Awaitable[int]]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    path = config_path(getattr(args, "config", None))
    try:
        if args.command == "init":
            return asyncio.run(cmd_init(args, path))
        config = load_config(path)
    except ConfigError as exc:
        where = "" if exc.key == str(path) else f"{path}: "
        print(f"bridge: config error: {where}{exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as exc:
        print(f"bridge {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    setup_logging(config.log.level)
    try:
        return asyncio.run(args.handler(args, config))
    except ConfigError as exc:  # e.g. --blog naming no configured blog
        print(f"bridge {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as exc:
        print(f"bridge {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


# -- commands ---------------------------------------------------------------


async def cmd_init(args: argparse.Namespace, path: Path) -> int:
    if path.exists():
        print(f"config: {path} exists, left as it is")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config(args.base_url, args.blog_name, args.blog_url), encoding="utf-8")
        print(f"config: wrote {path} (edit server.base_url and blogs[0].url, then run `bridge serve`)")
    config = load_config(path)
    setup_logging(config.log.level)
    from bridge.app import prepare_storage
    from bridge.db import close_db
    from bridge.keys import INSTANCE_ACTOR

    try:
        applied = await prepare_storage(config)
    except Exception as exc:
        raise CommandFailed(f"cannot prepare the database at {config.database.redacted_url}: {exc}") from exc
    finally:
        await close_db()
    print(f"database: {config.database.redacted_url} ({len(applied)} migrations applied)")
    print(f"keys: one RSA-2048 key pair for each of {', '.join(b.name for b in config.blogs)}, {INSTANCE_ACTOR}")
    for blog in config.blogs:
        print(f"actor: @{blog.name}@{config.server.host} for {blog.url}")
    return EXIT_OK


async def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    from bridge.app import prepare_storage
    from bridge.db import close_db

    print(f"database: {config.database.redacted_url}")
    try:
        applied = await prepare_storage(config)
    except Exception as exc:
        raise CommandFailed(f"migration failed: {exc}") from exc
    finally:
        await close_db()
    for name in applied:
        print(f"applied {name}")
    print("schema is up to date" if not applied else f"{len(applied)} migration(s) applied")
    return EXIT_OK


async def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from bridge.daemon import run_daemon

    try:
        await run_daemon(config, http=True, workers=not args.no_workers)
    except OSError as exc:
        raise CommandFailed(f"cannot start: {exc}") from exc
    return EXIT_OK


async def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    from bridge.daemon import run_daemon

    await run_daemon(config, http=False, workers=True)
    return EXIT_OK


async def cmd_inspect(args: argparse.Namespace, config: Config) -> int:
    import json

    from bridge.app import new_http_session
    from bridge.net.fetch import FetchError
    from bridge.blog.report import inspect_json, inspect_text
    from bridge.blog.merge import with_blog_overrides
    from bridge.publish.reader import read_post

    blog = next((b for b in config.blogs if b.owns(args.url)), None)
    async with new_http_session(config) as session:
        try:
            result = await read_post(session, args.url, feed_url=blog.feed if blog else None)
        except FetchError as exc:
            raise CommandFailed(f"cannot read {args.url}: {exc}") from exc
    profile = result.profile
    as2_object = None
    if blog is not None:
        profile = with_blog_overrides(profile, blog)
        as2_object = _as2_preview(config, blog, result.post, profile.language)
    if args.json:
        data = inspect_json(result.post, profile)
        data["as2"] = as2_object
        data["fetched"] = list(result.fetched)
        data["problems"] = list(result.problems)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(inspect_text(result.post, profile), end="")
        for url in result.fetched:
            print(f"fetched  {url}")
        for problem in result.problems:
            print(f"problem  {problem}")
        if blog is None or as2_object is None:
            print("\nactivitypub object: none (the URL is on no configured blog)")
        else:
            print(f"\nactivitypub object ({blog.name}, post_style = {blog.post_style})")
            print(json.dumps(as2_object, ensure_ascii=False, indent=2))
    return EXIT_OK


def _as2_preview(config: Config, blog: BlogConfig, post: Post, language: str | None) -> dict[str, Any]:
    """The AS2 object the post becomes, with its permalink lookup URL as id (the row id comes with storing it)."""
    from bridge.publish.documents import blog_post_as2
    from bridge.core.urls import actor_id, post_lookup

    lookup = post_lookup(actor_id(config.server.base_url, blog.name), post.url or "")
    return blog_post_as2(config.server.base_url, blog, post, object_id=lookup, language=language)


async def cmd_poll(args: argparse.Namespace, config: Config) -> int:
    from bridge.app import new_http_session, prepare_storage
    from bridge.db import close_db
    from bridge.publish.polling import Change, poll_blog

    from bridge.ops.progress import Progress

    blogs = [config.blog(args.blog)] if args.blog else list(config.blogs)
    failed = False
    try:
        await prepare_storage(config)
        async with new_http_session(config) as session:
            for blog in blogs:
                print(f"{blog.name}: polling {blog.feed or blog.url}", flush=True)
                bar = Progress(f"{blog.name}:")

                def progress(change: Change, url: str, detail: str, bar: Progress = bar) -> None:
                    line = f"{change.value:<9} {url}" + (f"  {detail}" if detail else "")
                    # On a terminal the bar shows each post in passing; what changed stays on screen.
                    if bar.tty and change not in (Change.UNCHANGED,):
                        bar.note(line)
                    bar.step(line)

                def total(n: int, bar: Progress = bar) -> None:
                    bar.total = n

                report = await poll_blog(session, blog, progress=progress, on_total=total)
                bar.done(report.summary())
                failed |= report.error is not None
    finally:
        await close_db()
    return EXIT_FAILED if failed else EXIT_OK


async def cmd_keys_rotate(args: argparse.Namespace, config: Config) -> int:
    """New key pairs; the old ones kept inactive; each blog's followers get an Update (a queued job)."""
    from bridge.app import prepare_storage
    from bridge.db import close_db
    from bridge.keys import INSTANCE_ACTOR, rotate_keys

    # Without --blog: every blog and the instance actor (after a leak, all keys must go).
    actors = [config.blog(args.blog).name] if args.blog else [b.name for b in config.blogs] + [INSTANCE_ACTOR]
    try:
        await prepare_storage(config)
        for actor in actors:
            made = await rotate_keys(actor)
            announced = "" if actor == INSTANCE_ACTOR else "; an Update of the actor is queued for its followers"
            print(f"{actor}: new {', '.join(key.algorithm for key in made)} key{announced}", flush=True)
    except Exception as exc:
        raise CommandFailed(f"cannot rotate keys: {exc}") from exc
    finally:
        await close_db()
    return EXIT_OK


async def cmd_publish(args: argparse.Namespace, config: Config) -> int:
    """Read one post now and queue what it needs: Create (new), Update (changed), Delete (gone)."""
    from bridge.app import new_http_session, prepare_storage
    from bridge.db import close_db
    from bridge.net.fetch import FetchError
    from bridge.publish.polling import Change, publish_now

    blog = next((b for b in config.blogs if b.owns(args.url)), None)
    if blog is None:
        raise CommandFailed(f"{args.url} is on no configured blog")
    try:
        await prepare_storage(config)
        async with new_http_session(config) as session:
            try:
                change = await publish_now(session, blog, args.url)
            except FetchError as exc:
                raise CommandFailed(f"cannot read {args.url}: {exc}") from exc
    finally:
        await close_db()
    queued = {Change.NEW: "a Create", Change.CHANGED: "an Update", Change.GONE: "a Delete"}.get(change)
    print(f"{args.url}: {change.value}" + (f"; {queued} is queued for the followers" if queued else "; nothing to send"))
    return EXIT_OK


async def cmd_followers(args: argparse.Namespace, config: Config) -> int:
    """List followers (or pending requests); approve, reject or remove one."""
    from bridge.app import prepare_storage
    from bridge.db import close_db
    from bridge.ops.followers import decide, list_followers

    blog = config.blog(args.blog) if args.blog else None
    try:
        await prepare_storage(config)
        if args.action is None:
            for line in await list_followers(config, blog.name if blog else None, pending=args.pending):
                print(line)
        else:
            try:
                print(await decide(config, args.action, args.actor, blog.name if blog else None))
            except LookupError as exc:
                raise CommandFailed(str(exc)) from exc
    finally:
        await close_db()
    return EXIT_OK


async def cmd_check(args: argparse.Namespace, config: Config) -> int:
    """Each point ✓ or ✗ with its fix; exit 0 when every required point passes."""
    from bridge.app import new_http_session, prepare_storage
    from bridge.ops.check import check_blog, passed
    from bridge.db import close_db

    blogs = [config.blog(args.blog)] if args.blog else list(config.blogs)
    ok = True
    try:
        await prepare_storage(config)
        async with new_http_session(config) as session:
            for blog in blogs:
                print(f"{blog.name} ({blog.url}) via {config.server.base_url}", flush=True)
                points = await check_blog(config, blog, session)
                for point in points:
                    print("\n".join("  " + line for line in point.lines()), flush=True)
                failed = [p for p in points if p.required and not p.ok]
                print(f"  {'all required points pass' if not failed else f'{len(failed)} required point(s) fail'}"
                      f"; {sum(1 for p in points if not p.required and not p.ok)} optional point(s) missing\n")
                ok &= passed(points)
    finally:
        await close_db()
    return EXIT_OK if ok else EXIT_FAILED


# -- parser -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS lets -c appear before or after the command without one erasing the other.
    common.add_argument(
        "-c", "--config", default=argparse.SUPPRESS, metavar="PATH",
        help="config file (default: $BRIDGE_CONFIG, else ./config.toml)",
    )
    parser = argparse.ArgumentParser(
        prog="bridge",
        description="Bridge a blog to the fediverse: followers see posts; replies, likes and boosts come back as webmentions.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"bridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Command | None, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("init", None, "write a starter config if none exists, create the schema, make the key pairs")
    p.add_argument("--base-url", default="http://127.0.0.1:8080", help="public origin of the bridge (for a new config)")
    p.add_argument("--blog-name", default="blog", help="the handle of the blog (for a new config)")
    p.add_argument("--blog-url", default="https://blog.example/", help="the blog's home page (for a new config)")

    p = command("serve", cmd_serve, "run the daemon: HTTP server and queue workers in one process")
    p.add_argument("--no-workers", action="store_true", help="serve HTTP only; run `bridge worker` for the queue")
    command("worker", cmd_worker, "run queue workers only (no HTTP server)")
    command("migrate", cmd_migrate, "apply schema migrations")

    p = command("publish", cmd_publish, "fetch one post now and publish it (Create, Update or Delete)")
    p.add_argument("url", metavar="URL")
    p = command("poll", cmd_poll, "poll the blogs' feeds once and publish what is new or changed")
    p.add_argument("--blog", metavar="NAME")
    p = command("inspect", cmd_inspect, "show one blog post exactly as the bridge reads it")
    p.add_argument("url", metavar="URL")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = command("webmention", None, "webmentions")
    wm = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = wm.add_parser("send", parents=[common], help="discover TARGET's endpoint and send one webmention")
    send.add_argument("source", metavar="SOURCE")
    send.add_argument("target", metavar="TARGET")
    send.set_defaults(handler=cmd_webmention_send)

    p = command("followers", cmd_followers, "list followers; approve, reject or remove one")
    p.add_argument("--blog", metavar="NAME")
    p.add_argument("--pending", action="store_true", help="only follow requests waiting for approval")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for action in ("approve", "reject", "remove"):
        a = actions.add_parser(action, parents=[common], help=f"{action} a follower")
        a.add_argument("actor", metavar="ACTOR")
        a.add_argument("--blog", metavar="NAME")

    p = command("interactions", cmd_interactions, "list replies, likes and boosts; approve, reject or resend one")
    p.add_argument("--held", action="store_true", help="only interactions held for approval")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for action in ("approve", "reject", "resend"):
        a = actions.add_parser(action, parents=[common], help=f"{action} an interaction")
        a.add_argument("id", metavar="ID")

    p = command("keys", None, "signing keys")
    keys = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = keys.add_parser("rotate", parents=[common], help="make a new key pair and announce it to followers")
    rotate.add_argument("--blog", metavar="NAME")
    rotate.set_defaults(handler=cmd_keys_rotate)

    p = command("check", cmd_check, "check the setup against the live blog, point by point")
    p.add_argument("--blog", metavar="NAME")
    return parser

