"""`bridge interactions [--held] [--kind KIND]`, `bridge interactions approve|reject|resend ID` and
`bridge webmention send SOURCE TARGET`: the operator's commands for the fediverse → blog
side, over bridge/ops/interactions.py and bridge/webmention/send.py. Registered by bridge/cli/main.py.
"""

from __future__ import annotations

import argparse
import sys

from bridge.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bridge.config import Config
from bridge.models import Interaction

LIST_LIMIT = 200


def interaction_line(row: Interaction, base_url: str) -> str:
    """id, blog, kind, state, webmention state (and status), author, target, page.

    The kind is `reply`, `like`, `repost`, `quote`, or `reaction` and its emoji (`reaction 🎉`):
    the emoji comes last in its column, cleaned to one line (bridge/ops/interactions.py
    `emoji_text`), so the tab after it moves on from wherever the terminal drew it, however
    wide the terminal draws it (two columns, most often), and `cut -f3` still reads it."""
    from bridge.core.urls import interaction_page
    from bridge.ops.interactions import emoji_text, kind_label

    webmention = row.webmention_state.value + (f" {row.webmention_status}" if row.webmention_status else "")
    author = f"@{row.author_handle}" if row.author_handle else row.actor_uri
    extra = f"\t{row.webmention_error}" if row.webmention_error else ""
    emoji = emoji_text(row)
    kind = f"{kind_label(row)} {emoji}" if emoji else kind_label(row)
    return (f"{row.id}\t{row.blog}\t{kind}\t{row.state.value}\t{row.visibility.value}\t"
            f"webmention {webmention}\t{author}\t{row.target_url}\t{interaction_page(base_url, row.id)}{extra}")


async def cmd_interactions(args: argparse.Namespace, config: Config) -> int:
    from bridge.app import prepare_storage
    from bridge.db import close_db
    from bridge.ops import interactions as admin

    try:
        kind = getattr(args, "kind", None)
        if args.action is None and kind is not None and kind not in admin.KIND_FILTERS:
            print(f"bridge interactions: --kind must be one of {', '.join(admin.KIND_FILTERS)}, got {kind!r}",
                  file=sys.stderr)
            return EXIT_USAGE
        await prepare_storage(config)
        if args.action is None:
            rows = await admin.list_interactions(held=True if args.held else None, limit=LIST_LIMIT, kind=kind)
            for row in rows:
                print(interaction_line(row, config.server.base_url))
            if not rows and kind:
                print(f"no interactions of kind {kind}" + (" held for approval" if args.held else ""))
            elif not rows:
                print("no interactions held for approval" if args.held else "no interactions")
            return EXIT_OK
        try:
            interaction_id = int(args.id)
        except ValueError:
            print(f"bridge interactions {args.action}: ID must be a number, got {args.id!r}", file=sys.stderr)
            return EXIT_USAGE
        action = {"approve": admin.approve, "reject": admin.reject, "resend": admin.resend}[args.action]
        try:
            row = await action(interaction_id)
        except (admin.UnknownInteraction, admin.NotAllowed) as exc:
            print(f"bridge interactions {args.action}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        done = {"approve": "approved; its webmention is queued", "reject": "rejected; its page answers 410",
                "resend": "its webmention is queued again"}[args.action]
        print(f"interaction {row.id}: {done}")
        return EXIT_OK
    finally:
        await close_db()


async def cmd_webmention_send(args: argparse.Namespace, config: Config) -> int:
    """Discover TARGET's endpoint and send one webmention; print the endpoint and the answer."""
    from bridge.app import new_http_session
    from bridge.net.fetch import FetchError
    from bridge.webmention.send import NoEndpoint, SendFailed, send_webmention

    for name, url in (("SOURCE", args.source), ("TARGET", args.target)):
        if not url.startswith(("http://", "https://")):
            print(f"bridge webmention send: {name} must be an http(s) URL, got {url!r}", file=sys.stderr)
            return EXIT_USAGE
    async with new_http_session(config) as session:
        try:
            sent = await send_webmention(session, args.source, args.target)
        except NoEndpoint as exc:
            print(f"bridge webmention send: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except FetchError as exc:
            print(f"bridge webmention send: cannot read the target: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except SendFailed as exc:
            print(f"endpoint: {exc.endpoint}")
            print(f"bridge webmention send: {exc.reason}" + (" (final)" if exc.final else " (worth retrying)"),
                  file=sys.stderr)
            return EXIT_FAILED
    print(f"endpoint: {sent.endpoint}")
    print(f"status: {sent.status}" + (f"\nlocation: {sent.location}" if sent.location else ""))
    if sent.body.strip():
        print(f"answer: {sent.body.strip()[:500]}")
    return EXIT_OK
