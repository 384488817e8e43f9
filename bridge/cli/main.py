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
from typing import NoReturn

from bridge import __version__
from bridge.cli.commands import (
    cmd_check,
    cmd_followers,
    cmd_init,
    cmd_inspect,
    cmd_keys_rotate,
    cmd_migrate,
    cmd_poll,
    cmd_publish,
    cmd_serve,
    cmd_worker,
)
from bridge.cli.exits import EXIT_FAILED, EXIT_USAGE, CommandFailed
from bridge.cli.interactions import cmd_interactions, cmd_webmention_send
from bridge.config import Config, ConfigError, config_path, load_config
from bridge.core.logs import setup_logging

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
        if exc.key.startswith("--"):  # init's flags: not the file's fault
            print(f"bridge {args.command}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        where = "" if exc.key == str(path) else f"{path}: "
        print(f"bridge: config error: {where}{exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as exc:
        print(f"bridge {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C at init's questions
        print(f"\nbridge {args.command}: interrupted", file=sys.stderr)
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
    p.description = (
        "Write a starter config if none exists, create the schema, make the key pairs. A new config "
        "starts from the blog: --blog reads it (name, feed, what it lacks) and the config is written "
        "complete, with an admin token, then checked as `bridge check` does. On a terminal, the "
        "flags not given are asked; elsewhere the defaults are taken. A blog that cannot be read "
        "exits 1 with nothing written; a config that exists is left as it is."
    )
    blog = p.add_mutually_exclusive_group()
    blog.add_argument("--blog", metavar="URL", help="the blog's home page, read to fill the new config")
    blog.add_argument("--blog-url", metavar="URL",
                      help="the blog's home page, written as given without reading it (a blog not up yet)")
    p.add_argument("--base-url", metavar="URL",
                   help="the bridge's public origin (default http://127.0.0.1:8080; https in production)")
    p.add_argument("--blog-name", metavar="NAME",
                   help="the account's handle (default: from the blog's host or title)")

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

    p = command("interactions", cmd_interactions,
                "list replies, likes, reactions, boosts and quotes; approve, reject or resend one")
    p.add_argument("--held", action="store_true", help="only interactions held for approval")
    # The kinds are bridge/ops/interactions.py's KIND_FILTERS, checked by the command: that
    # module is not imported here, where every command pays for what the parser imports.
    p.add_argument("--kind", metavar="KIND",
                   help="only one kind: reply, like (without an emoji), reaction (a like with one), repost or quote")
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

