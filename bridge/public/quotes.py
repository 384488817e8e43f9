"""A `QuoteAuthorization` at its id (`ACTOR/quote_authorizations/ID`): what a third party
dereferences to check that a quote of one of our posts was approved (FEP-044f). An edge,
beside bridge/public/routes.py.

It answers while the approval stands (bridge/publish/quotes.py `standing_authorization`): the
quote approved and not withdrawn, the post live. Otherwise 404, as Mastodon answers for a
revoked one; the quoting server also got a `Delete` of it when the post went.
"""

from __future__ import annotations

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.as2.quotes import quote_authorization
from bridge.config import Config
from bridge.core import urls
from bridge.models import BlogPost
from bridge.public.negotiation import as2_response, error_response
from bridge.publish.quotes import standing_authorization


class _Authorizations:
    def __init__(self, config: Config) -> None:
        self.base = config.server.base_url
        self.blogs = {blog.name for blog in config.blogs}

    async def authorization(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        interaction_id = urls.parse_id(request.match_info["id"])
        found = await standing_authorization(self.base, name, interaction_id) \
            if name in self.blogs and interaction_id is not None else None
        if found is None:
            return error_response(404, "no such quote authorization")
        row, authorization = found
        post = await BlogPost.get(id=row.post_id)
        target = urls.post_object_id(urls.actor_id(self.base, name), post.id)
        doc = quote_authorization(authorization, actor=urls.actor_id(self.base, name), quote=row.object_id,
                                  target=target)
        return as2_response(request, doc, human=post.url)


def add_routes(app: web.Application) -> None:
    """Register the route of urls.quote_authorization (bridge/public/routes.py calls this)."""
    app.router.add_get(urls.QUOTE_AUTHORIZATION_ROUTE, _Authorizations(app[CONFIG]).authorization)
