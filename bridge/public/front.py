"""The bridge's front door for people: `/` and each blog's profile page `/@NAME`, where a
browser at the actor id is sent (bridge/public/routes.py).

A profile shows the blog as the fediverse sees it (name, avatar, bio: bridge/public/pages.py),
its handle with a copy button, how many follow it, its latest posts linking to the blog, and
a Follow form that works from any server (bridge/public/interact.py). With one blog, `/` is
its profile; with several, a list of them. An ActivityPub client asking for a profile page
(its URL pasted into a search) is sent to the actor.
"""

from __future__ import annotations

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.config import Config
from bridge.core import urls
from bridge.public.interact import add_routes as add_interact_routes
from bridge.public.negotiation import negotiate
from bridge.public.pages import Pages, blog_card

CACHE = "public, max-age=60"  # a new post or follower shows within a minute


class _Front:
    def __init__(self, config: Config, pages: Pages) -> None:
        self.config = config
        self.blogs = {blog.name: blog for blog in config.blogs}
        self.pages = pages

    async def front_door(self, request: web.Request) -> web.Response:
        if len(self.config.blogs) == 1:
            return await self._profile(self.config.blogs[0].name)
        cards = [await blog_card(self.config, blog, posts=0) for blog in self.config.blogs]
        return self.pages.render("front.html", cache=CACHE, cards=cards, host=self.config.server.host)

    async def profile(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.blogs and _asks_for_as2(request.headers.get("Accept")):
            return web.Response(status=302, headers={"Location": urls.actor_id(self.config.server.base_url, name),
                                                     "Vary": "Accept"})
        return await self._profile(name)

    async def _profile(self, name: str) -> web.Response:
        blog = self.blogs.get(name)
        if blog is None:
            return self.pages.refuse("missing.html", 404, "no such account")
        card = await blog_card(self.config, blog)
        response = self.pages.render("profile.html", cache=CACHE, card=card, single=len(self.config.blogs) == 1)
        response.headers["Vary"] = "Accept"
        return response


def _asks_for_as2(accept: str | None) -> bool:
    """Whether the client names an AS2 type and prefers it to HTML (a browser's `*/*` does not
    count: the page is for people)."""
    text = (accept or "").lower()
    return ("activity+json" in text or "ld+json" in text) and negotiate(accept) is not None


def add_routes(app: web.Application) -> None:
    """Register the pages for people: urls.front_door, urls.profile_page and urls.interact
    (bridge/public/routes.py calls this)."""
    config = app[CONFIG]
    pages = Pages(config)
    front = _Front(config, pages)
    app.router.add_get(urls.FRONT_DOOR_PATH, front.front_door)
    app.router.add_get(urls.PROFILE_ROUTE, front.profile)
    add_interact_routes(app, pages)
