"""Content negotiation for AS2 documents, and the responses that carry them.

What fediverse servers send: Mastodon asks for `application/activity+json, application/
ld+json` (and for ld+json with the AS2 profile when it fetches), Misskey and Fedify
list `application/activity+json` first; browsers ask for `text/html` first and `*/*` at
a lower q. A browser is redirected to what it can read: a post to the blog's page, an
actor to its profile page on the bridge (bridge/public/front.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bridge.as2.vocab import AS2_CONTENT_TYPE, AS2_CONTEXT, LD_CONTENT_TYPE

CORS = {"Access-Control-Allow-Origin": "*"}  # RFC 7033 section 5: WebFinger SHOULD allow any origin
_AS2_TYPES = {"application/activity+json": AS2_CONTENT_TYPE, "application/ld+json": LD_CONTENT_TYPE,
              "application/json": AS2_CONTENT_TYPE, "application/*": AS2_CONTENT_TYPE}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def negotiate(accept: str | None) -> str | None:
    """The AS2 content type to answer with, or None when HTML is preferred (a browser).

    No Accept, */* or anything else: AS2 (what a client that says nothing wants).
    """
    best_as2: tuple[float, str] | None = None
    best_html = 0.0
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        media = media.lower()
        q = 1.0
        profile = None
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif name.strip().lower() == "profile":
                profile = value.strip().strip('"')
        if q <= 0:
            continue
        if media in _HTML_TYPES:
            best_html = max(best_html, q)
        elif media in _AS2_TYPES:
            if media == "application/ld+json" and profile and AS2_CONTEXT not in profile.split():
                continue  # some other JSON-LD vocabulary
            if best_as2 is None or q > best_as2[0]:
                best_as2 = (q, _AS2_TYPES[media])
    if best_html and (best_as2 is None or best_html > best_as2[0]):
        return None
    return best_as2[1] if best_as2 else AS2_CONTENT_TYPE


def json_response(doc: Any, content_type: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(body=body, status=status, headers={"Content-Type": content_type, **CORS, **(headers or {})})


def as2_response(request: web.Request, doc: Any, *, human: str | None, status: int = 200) -> web.Response:
    """`doc` as AS2, or a redirect to `human` (the blog's page) for a browser."""
    kind = negotiate(request.headers.get("Accept"))
    if kind is None and human:
        return web.Response(status=302, headers={"Location": human, "Vary": "Accept"})
    return json_response(doc, kind or AS2_CONTENT_TYPE, status, {"Vary": "Accept"})


log = logging.getLogger("bridge.public")


def error_response(status: int, reason: str) -> web.Response:
    """A refusal of a public GET: `{"error": reason}`, logged once (`public.refused`)."""
    log.info("public.refused status=%d reason=%r", status, reason)  # %r: the reason may quote the query
    return json_response({"error": reason}, "application/json", status)


def refusal(status: int, reason: str) -> web.HTTPException:
    """`error_response` as an exception, for helpers deep in a view."""
    kind = {400: web.HTTPBadRequest, 404: web.HTTPNotFound}[status]
    log.info("public.refused status=%d reason=%r", status, reason)
    return kind(text=json.dumps({"error": reason}), content_type="application/json", headers=CORS)
