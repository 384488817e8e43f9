"""The `bridge` commands that set up, run and publish: init, migrate, serve, worker, inspect,
poll, publish, keys rotate, followers, check. Each takes the parsed arguments and the
configuration and returns an exit code (bridge/cli/exits.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.cli.exits import EXIT_FAILED, EXIT_OK, CommandFailed
from bridge.config import BlogConfig, Config, load_config
from bridge.core.logs import setup_logging

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bridge.blog.post import Post
    from bridge.ops.check import Point


async def cmd_init(args: argparse.Namespace, path: Path) -> int:
    """A new config from the blog's address (bridge/cli/setup.py), or the one there left as
    it is; then the schema and the keys; for a new config, the check and the way in."""
    from bridge.cli.setup import after_init, write_starter

    new = None
    if path.exists():
        print(f"config: {path} exists, left as it is")
    else:
        new = await write_starter(args, path)
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
    print(f"keys: an RSA-2048 and an Ed25519 key pair for each of {', '.join(b.name for b in config.blogs)}, {INSTANCE_ACTOR}")
    for blog in config.blogs:
        print(f"actor: @{blog.name}@{config.server.host} for {blog.url}", flush=True)
    if new is not None:
        await after_init(config, new)
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
    from bridge.blog.gaps import gaps
    from bridge.blog.merge import with_blog_overrides
    from bridge.blog.report import inspect_json, inspect_text
    from bridge.net.fetch import FetchError
    from bridge.publish.reader import read_post

    blog = next((b for b in config.blogs if b.owns(args.url)), None)
    async with new_http_session(config) as session:
        try:
            result = await read_post(session, args.url, feed_url=blog.feed if blog else None,
                                     home_url=blog.url if blog else None)
        except FetchError as exc:
            raise CommandFailed(f"cannot read {args.url}: {exc}") from exc
    profile = result.profile
    as2_object = None
    if blog is not None:
        profile = with_blog_overrides(profile, blog)
        as2_object = _as2_preview(config, blog, result.post, profile.language)
    missing = [gap.line() for gap in gaps(result.post, profile_icon=profile.icon is not None)]
    if args.json:
        data = inspect_json(result.post, profile)
        data["as2"] = as2_object
        data["fetched"] = list(result.fetched)
        data["problems"] = list(result.problems)
        data["missing"] = missing
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(inspect_text(result.post, profile), end="")
        for url in result.fetched:
            print(f"fetched  {url}")
        for problem in result.problems:
            print(f"problem  {problem}")
        for line in missing:
            print(f"missing  {line}")
        if blog is None or as2_object is None:
            print("\nactivitypub object: none (the URL is on no configured blog)")
        else:
            print(f"\nactivitypub object ({blog.name}, post_style = {blog.post_style})")
            print(json.dumps(as2_object, ensure_ascii=False, indent=2))
    return EXIT_OK


def _as2_preview(config: Config, blog: BlogConfig, post: Post, language: str | None) -> dict[str, Any]:
    """The AS2 object the post becomes, with its permalink lookup URL as id (the row id comes with storing it)."""
    from bridge.core.urls import actor_id, post_lookup
    from bridge.publish.documents import blog_post_as2

    lookup = post_lookup(actor_id(config.server.base_url, blog.name), post.url or "")
    return blog_post_as2(config.server.base_url, blog, post, object_id=lookup, language=language)


async def cmd_poll(args: argparse.Namespace, config: Config) -> int:
    from bridge.app import new_http_session, prepare_storage
    from bridge.db import close_db
    from bridge.ops.progress import Progress
    from bridge.publish.polling import poll_blog
    from bridge.publish.record import Change

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
            kinds = sorted(key.algorithm for key in made)[::-1]  # "rsa and ed25519": the signing key first
            print(f"{actor}: new {' and '.join(kinds)} key{'s' if len(kinds) > 1 else ''}{announced}", flush=True)
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
    from bridge.publish.record import Change, publish_now

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
    from bridge.db import close_db
    from bridge.ops.check import check_blog

    blogs = [config.blog(args.blog)] if args.blog else list(config.blogs)
    ok = True
    try:
        await prepare_storage(config)
        async with new_http_session(config) as session:
            for blog in blogs:
                ok &= print_points(config, blog, await check_blog(config, blog, session))
    finally:
        await close_db()
    return EXIT_OK if ok else EXIT_FAILED


def print_points(config: Config, blog: BlogConfig, points: Sequence[Point]) -> bool:
    """One blog's check, point by point (also `bridge init`'s); whether every required one passes."""
    from bridge.ops.check import passed

    print(f"{blog.name} ({blog.url}) via {config.server.base_url}", flush=True)
    for point in points:
        print("\n".join("  " + line for line in point.lines()), flush=True)
    failed = [p for p in points if p.required and not p.ok]
    print(f"  {'all required points pass' if not failed else f'{len(failed)} required point(s) fail'}"
          f"; {sum(1 for p in points if not p.required and not p.ok)} optional point(s) missing\n", flush=True)
    return passed(points)
