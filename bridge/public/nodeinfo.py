"""NodeInfo 2.1 (https://github.com/jhass/nodeinfo, schema 2.1): what this server is.

Pure: counts in, JSON-ready dicts out. Servers and crawlers read it to show which
software runs here; the discovery document also names the application actor
(FEP-2677), which signs the bridge's own fetches.
"""

from __future__ import annotations

from typing import Any

from bridge.as2.actor import SOFTWARE
from bridge.core.urls import instance_actor_id

NODEINFO_PATH = "/.well-known/nodeinfo"
DOCUMENT_PATH = "/nodeinfo/2.1"
SCHEMA_2_1 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
CONTENT_TYPE = f'application/json; profile="{SCHEMA_2_1}#"'
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"  # FEP-2677


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    """The /.well-known/nodeinfo discovery document."""
    return {
        "links": [
            {"rel": SCHEMA_2_1, "href": f"{base_url}{DOCUMENT_PATH}"},
            {"rel": APPLICATION_REL, "href": instance_actor_id(base_url)},
        ]
    }


def nodeinfo_document(
    *,
    version: str,
    users: int,
    active_month: int,
    active_halfyear: int,
    local_posts: int,
    node_name: str,
) -> dict[str, Any]:
    """The NodeInfo 2.1 document: each blog is a user, each live post a local post.
    Nobody can sign up: the operator configures the blogs."""
    software: dict[str, Any] = {"name": SOFTWARE, "version": version}
    return {
        "version": "2.1",
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": users, "activeMonth": active_month, "activeHalfyear": active_halfyear},
            "localPosts": local_posts,
        },
        "metadata": {"nodeName": node_name},
    }
