"""The dashboard's interactions page (replies, likes, boosts and their webmentions:
approve, reject, resend) and the followers page's block action, on the same functions
as `bridge interactions` (bridge/ops/interactions.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from tortoise.functions import Count

from bridge.appkeys import CONFIG, CONTEXT
from bridge.blog.content import text_of
from bridge.inbox.moderation import BlockList
from bridge.models import Interaction, InteractionState
from bridge.ops import interactions as interactions_admin
from bridge.ops.admin.data import number, row_id
from bridge.ops.admin.web import back, field, page, render
from bridge.ops.followers import decide

PAGE = 50
ACTIONS = {"approve": interactions_admin.approve, "reject": interactions_admin.reject,
           "resend": interactions_admin.resend}
DONE = {"approve": "approved", "reject": "rejected", "resend": "resent"}


async def held_by_blog() -> dict[str, int]:
    """Interactions held for approval, per blog."""
    rows = await Interaction.filter(state=InteractionState.HELD).annotate(n=Count("id")).group_by("blog").values_list(
        "blog", "n")
    return {str(blog): int(n) for blog, n in rows}


def excerpt(row: Interaction, limit: int = 400) -> str:
    """The interaction's words as plain text (its HTML is never rendered here)."""
    text = text_of(row.content or "") if row.content else ""
    return text[:limit] + ("…" if len(text) > limit else "")


@page
async def interactions_page(request: web.Request, session: Any) -> web.StreamResponse:
    held = request.query.get("held") == "1"
    blog = request.query.get("blog") or None
    offset = number(request.query.get("offset"), 0)
    rows = await interactions_admin.list_interactions(held=True if held else None, blog=blog, limit=PAGE + 1,
                                                      offset=offset)
    counts = await held_by_blog()
    return render(request, "interactions.html", session=session, rows=rows[:PAGE], more=len(rows) > PAGE,
                  held=held, blog=blog or "", offset=offset, page_size=PAGE, excerpt=excerpt,
                  held_total=sum(counts.values()))


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
    if field(form, "held") == "1":  # back to the list it came from
        raise web.HTTPSeeOther(f"{response.location}&held=1")
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
