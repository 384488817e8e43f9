"""GET /interactions/{id}: the h-entry page of a reply, like or boost (the webmention
source the blog fetches). A flow over the page translator (bridge/webmention/hentry.py).

Published → 200 with the page; deleted by its author, rejected by the operator, or made
followers-only/direct by an edit after the blog had it → 410 Gone (Webmention §3.2.4: a
source that answers 410 is a deletion), except where the blog's receiver ignores a 410
(the WordPress plugin: webmention/wordpress.py): there, 200 with a tombstone the receiver
takes as an edit. Held for approval, followers-only or direct, or unknown → 404 (nothing
public was ever there).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.as2.interaction import Interaction as Seen
from bridge.as2.interaction import interaction_from_row_values
from bridge.core import urls
from bridge.core.urls import interaction_page
from bridge.models import BlogPost, Interaction, InteractionState, Visibility
from bridge.public.negotiation import error_response
from bridge.webmention.hentry import Author, render_gone, render_interaction, render_tombstone
from bridge.webmention.wordpress import is_plugin_endpoint

_HTML = "text/html"
_PUBLIC = (Visibility.PUBLIC, Visibility.UNLISTED)


def seen_from_row(row: Interaction) -> Seen:
    """The stored interaction as the translator's dataclass."""
    return interaction_from_row_values(
        str(row.kind), row.object_id, row.actor_uri, row.in_reply_to, row.data or {},
        visibility=str(row.visibility), activity_id=row.activity_id, url=row.url, content_html=row.content,
        summary=row.summary, published=row.published, updated=row.edited)


async def page_html(base_url: str, row: Interaction) -> str:
    """The page of a published interaction."""
    targets = await _targets(base_url, row)
    title = None
    if row.post_id is not None:
        post = await BlogPost.get_or_none(id=row.post_id)
        title = (post.data or {}).get("title") if post is not None else None
    author = Author(url=row.author_url or row.actor_uri, name=row.author_name, photo=row.author_photo,
                    handle=row.author_handle)
    return render_interaction(seen_from_row(row), author, page_url=interaction_page(base_url, row.id),
                              targets=targets, endpoint=urls.ping_endpoint(base_url), title=title)


async def _targets(base_url: str, row: Interaction) -> list[str]:
    """The blog post, the parent's page in a thread, and the target the webmention went
    to when it is another (a WordPress thread's `?replytocom=`): the page must link to it."""
    targets = [row.target_url]
    if row.parent_id is not None:
        parent = await Interaction.get_or_none(id=row.parent_id)
        if parent is not None and parent.state is InteractionState.PUBLISHED:
            targets.append(interaction_page(base_url, parent.id))
    if row.webmention_target and row.webmention_target not in targets:
        targets.append(row.webmention_target)
    return targets


def _withdrawn(row: Interaction | None) -> str | None:
    """Why a page the blog had is withdrawn (a key of hentry's tombstone texts), or None."""
    if row is None:
        return None
    if row.state is InteractionState.DELETED:
        return "deleted"
    if row.state is InteractionState.REJECTED:
        return "removed"
    if row.state is InteractionState.PRIVATE and row.webmentions_sent > 0:  # private after the blog had it
        return "private"
    return None


async def interaction_view(request: web.Request) -> web.Response:
    base = request.app[CONFIG].server.base_url
    interaction_id = urls.parse_id(request.match_info["id"])
    row = await Interaction.get_or_none(id=interaction_id) if interaction_id is not None else None
    headers = {"Link": f'<{urls.ping_endpoint(base)}>; rel="webmention"', "X-Robots-Tag": "noindex",
               "Content-Security-Policy": "default-src 'none'; img-src https: http:; style-src 'none'"}
    why = _withdrawn(row)
    if row is not None and why is not None:
        if row.webmentions_sent > 0 and is_plugin_endpoint(row.webmention_endpoint):
            html = render_tombstone(str(row.kind), page_url=interaction_page(base, row.id),
                                    targets=await _targets(base, row), endpoint=urls.ping_endpoint(base), why=why,
                                    photo=urls.withdrawn_avatar(base), emoji=(row.data or {}).get("emoji"))
            return web.Response(text=html, content_type=_HTML, charset="utf-8", headers=headers)
        return web.Response(status=410, text=render_gone(urls.ping_endpoint(base)), content_type=_HTML, headers=headers)
    if row is None or row.state is not InteractionState.PUBLISHED or row.visibility not in _PUBLIC:
        return error_response(404, "no such interaction")
    return web.Response(text=await page_html(base, row), content_type=_HTML, charset="utf-8", headers=headers)


async def answerable(base_url: str, target: str) -> str:
    """Why a webmention to `target` (a page of the bridge) cannot be taken; "" when it can.
    An interaction page is a target only while it is served (published and public)."""
    route = urls.parse(base_url, target)
    if not isinstance(route, urls.InteractionPage):
        return "" if route is not None or not urlsplit(target).path.startswith("/interactions/") else \
            "target is not an interaction page"
    row = await Interaction.get_or_none(id=route.interaction_id)
    if row is None or row.state is not InteractionState.PUBLISHED or row.visibility not in _PUBLIC:
        return "target is no published interaction"
    return ""


# A grey silhouette: what a withdrawn comment shows instead of its author's picture.
_WITHDRAWN_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48">'
                  '<rect width="48" height="48" fill="#d8d8d8"/><circle cx="24" cy="19" r="9" fill="#a6a6a6"/>'
                  '<path d="M8 46c2-10 9-15 16-15s14 5 16 15z" fill="#a6a6a6"/></svg>')


async def withdrawn_avatar(request: web.Request) -> web.Response:
    return web.Response(text=_WITHDRAWN_SVG, content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=604800",
                                 "Content-Security-Policy": "default-src 'none'; style-src 'none'"})


def add_routes(app: web.Application) -> None:
    # Any id reaches the view, so a bad one is refused (and logged) like an unknown one.
    app.router.add_get(urls.INTERACTION_ROUTE, interaction_view)
    app.router.add_get(urls.WITHDRAWN_AVATAR_PATH, withdrawn_avatar)
