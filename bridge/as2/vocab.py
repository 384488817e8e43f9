"""The ActivityStreams vocabulary the bridge speaks: contexts, media types, the public address.

Pure constants, in one place: what we serve (`AS2_CONTENT_TYPE`, `LD_CONTENT_TYPE`), what we
ask for and accept when fetching (ActivityPub §3.2; Mastodon also answers ld+json).
"""

from __future__ import annotations

from typing import Any

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
AS2_CONTENT_TYPE = "application/activity+json"
LD_CONTENT_TYPE = f'application/ld+json; profile="{AS2_CONTEXT}"'
AP_ACCEPT = f'{AS2_CONTENT_TYPE}, {LD_CONTENT_TYPE}'
AP_CONTENT_TYPES = (AS2_CONTENT_TYPE, "application/ld+json")
PUBLIC = f"{AS2_CONTEXT}#Public"
# Terms outside the AS2 context that posts use ("as:" is defined by the AS2 context).
OBJECT_CONTEXT: list[Any] = [AS2_CONTEXT, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}]
