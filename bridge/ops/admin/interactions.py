"""The dashboard's interactions page (replies, likes, emoji reactions, boosts, quotes and
their webmentions: approve, reject, resend; filtered by kind as `bridge interactions --kind`),
the overview's count of them by kind, and the followers page's block action, on the same
functions as `bridge interactions` (bridge/ops/interactions.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from tortoise import connections
from tortoise.functions import Count

from bridge.appkeys import CONFIG, CONTEXT
from bridge.blog.content import text_of
from bridge.inbox.moderation import BlockList
from bridge.models import Interaction, InteractionKind, InteractionState
from bridge.ops import interactions as interactions_admin
from bridge.ops.admin.data import number, row_id
from bridge.ops.admin.web import back, field, page, render
from bridge.ops.followers import decide

PAGE = 50
TOP_EMOJI = 3  # the overview names a blog's most frequent reaction emoji, this many
ACTIONS = {"approve": interactions_admin.approve, "reject": interactions_admin.reject,
           "resend": interactions_admin.resend}
DONE = {"approve": "approved", "reject": "rejected", "resend": "resent"}


async def held_by_blog() -> dict[str, int]:
    """Interactions held for approval, per blog."""
    rows = await Interaction.filter(state=InteractionState.HELD).annotate(n=Count("id")).group_by("blog").values_list(
        "blog", "n")
    return {str(blog): int(n) for blog, n in rows}


async def by_kind(held: bool = False) -> dict[str, dict[str, int]]:
    """blog -> {kind: count} in the order of KIND_FILTERS, kinds with none left out; a
    reaction counted as one, not as a like. `held`: only those held for approval."""
    where = "WHERE state = $1" if _postgres() else "WHERE state = ?"
    sql = (f"SELECT blog, kind, {interactions_admin.has_emoji_sql()} AS reaction, COUNT(*) FROM interactions "
           f"{where if held else ''} GROUP BY 1, 2, 3")
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for blog, kind, reaction, n in await _rows(sql, [InteractionState.HELD.value] if held else []):
        label = interactions_admin.REACTION if kind == InteractionKind.LIKE.value and reaction else str(kind)
        counts[str(blog)][label] = counts[str(blog)].get(label, 0) + int(n)
    order = {k: i for i, k in enumerate(interactions_admin.KIND_FILTERS)}
    return {blog: dict(sorted(kinds.items(), key=lambda kn: order.get(kn[0], len(order))))
            for blog, kinds in counts.items()}


async def top_emoji(limit: int = TOP_EMOJI) -> dict[str, list[tuple[str, int]]]:
    """blog -> its most frequent reaction emoji with their counts, most first (as shown: the
    same emoji sent with stray characters counts once)."""
    sql = (f"SELECT blog, {interactions_admin.emoji_sql()}, COUNT(*) FROM interactions "
           f"WHERE kind = {'$1' if _postgres() else '?'} AND {interactions_admin.has_emoji_sql()} = 1 GROUP BY 1, 2")
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for blog, emoji, n in await _rows(sql, [InteractionKind.LIKE.value]):
        shown = interactions_admin.shown_emoji(str(emoji))
        counts[str(blog)][shown] = counts[str(blog)].get(shown, 0) + int(n)
    return {blog: sorted(emoji.items(), key=lambda en: (-en[1], en[0]))[:limit] for blog, emoji in counts.items()}


def _postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def _rows(sql: str, values: list[Any]) -> list[list[Any]]:
    _n, rows = await connections.get("default").execute_query(sql, values)
    return [list(row.values()) if hasattr(row, "values") else list(row) for row in rows]


def excerpt(row: Interaction, limit: int = 400) -> str:
    """The interaction's words as plain text (its HTML is never rendered here)."""
    text = text_of(row.content or "") if row.content else ""
    return text[:limit] + ("…" if len(text) > limit else "")


def listing(held: bool, kind: str | None, blog: str | None, offset: int = 0) -> str:
    """The interactions page's URL with these filters (the tabs, the pager, after an action)."""
    query = {"held": "1" if held else "", "kind": kind or "", "blog": blog or "", "offset": str(offset or "")}
    filters = {k: v for k, v in query.items() if v}
    return "/admin/interactions" + (f"?{urlencode(filters)}" if filters else "")


@page
async def interactions_page(request: web.Request, session: Any) -> web.StreamResponse:
    held = request.query.get("held") == "1"
    blog = request.query.get("blog") or None
    kind = request.query.get("kind") or None
    offset = number(request.query.get("offset"), 0)
    if kind is not None and kind not in interactions_admin.KIND_FILTERS:
        return render(request, "error.html", status=400, session=session, title="Bad request",
                      reason=f"No kind {kind[:40]!r}: one of {', '.join(interactions_admin.KIND_FILTERS)}.")
    rows = await interactions_admin.list_interactions(held=True if held else None, blog=blog, limit=PAGE + 1,
                                                      offset=offset, kind=kind)
    counts = await held_by_blog()
    kinds: dict[str, int] = {}  # per kind, within the held and blog filters: the tabs' counts
    for name, of_blog in (await by_kind(held)).items():
        if blog is None or name == blog:
            for label, n in of_blog.items():
                kinds[label] = kinds.get(label, 0) + n
    return render(request, "interactions.html", session=session, rows=rows[:PAGE], more=len(rows) > PAGE,
                  held=held, blog=blog or "", kind=kind or "", offset=offset, page_size=PAGE, excerpt=excerpt,
                  held_total=sum(counts.values()), kinds=interactions_admin.KIND_FILTERS, kind_counts=kinds,
                  kind_label=interactions_admin.kind_label, emoji_text=interactions_admin.emoji_text,
                  listing=listing)


@page
async def act(request: web.Request, session: Any) -> web.StreamResponse:
    action = request.match_info["action"]
    raw = request.match_info["id"]
    interaction_id = row_id(raw)
    if action not in ACTIONS or interaction_id is None:
        return render(request, "error.html", status=404, session=session, title="No such action",
                      reason=f"{action[:40]} {raw[:40]}")
    try:
        await ACTIONS[action](interaction_id)
    except interactions_admin.UnknownInteraction as exc:
        return render(request, "error.html", status=404, session=session, title="No such interaction",
                      reason=str(exc))
    except interactions_admin.NotAllowed as exc:
        return render(request, "error.html", status=409, session=session, title="Not done", reason=str(exc))
    form = await request.post()
    response = back(request, "/admin/interactions", DONE[action])
    came_from = {"held": "1" if field(form, "held") == "1" else "",  # back to the list it came from
                 "kind": field(form, "kind") if field(form, "kind") in interactions_admin.KIND_FILTERS else ""}
    if any(came_from.values()):
        raise web.HTTPSeeOther(f"{response.location}&{urlencode({k: v for k, v in came_from.items() if v})}")
    raise response


@page
async def block(request: web.Request, session: Any) -> web.StreamResponse:
    form = await request.post()
    actor = field(form, "actor")
    try:
        await interactions_admin.block(actor, request.app[CONTEXT].state(BlockList))
    except ValueError as exc:
        return render(request, "error.html", status=400, session=session, title="Cannot block", reason=str(exc))
    try:  # a blocked follower follows no more
        await decide(request.app[CONFIG], "remove", actor, None)
    except LookupError:
        pass
    raise back(request, "/admin/followers", "blocked")


@page
async def unblock(request: web.Request, session: Any) -> web.StreamResponse:
    form = await request.post()
    try:
        done = await interactions_admin.unblock(field(form, "pattern"), request.app[CONTEXT].state(BlockList))
    except ValueError as exc:
        return render(request, "error.html", status=400, session=session, title="Cannot unblock", reason=str(exc))
    raise back(request, "/admin/followers", "unblocked" if done else "nothing")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/interactions", interactions_page)
    app.router.add_post("/admin/interactions/{id}/{action}", act)
    app.router.add_post("/admin/followers/block", block)
    app.router.add_post("/admin/followers/unblock", unblock)
