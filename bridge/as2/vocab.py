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
FEP_044F = "https://w3id.org/fep/044f#"
GTS = "https://gotosocial.org/ns#"
# Quote posts (FEP-044f) and interaction policies (GoToSocial's namespace), as Mastodon and
# Fedify define the terms (bridge/as2/quotes.py).
QUOTE_TERMS: dict[str, Any] = {
    "gts": GTS,
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
    "QuoteRequest": f"{FEP_044F}QuoteRequest",
    "QuoteAuthorization": f"{FEP_044F}QuoteAuthorization",
    "quote": {"@id": f"{FEP_044F}quote", "@type": "@id"},
    "quoteAuthorization": {"@id": f"{FEP_044F}quoteAuthorization", "@type": "@id"},
}
QUOTE_CONTEXT: list[Any] = [AS2_CONTEXT, QUOTE_TERMS]
# Terms outside the AS2 context that posts use ("as:" is defined by the AS2 context).
OBJECT_CONTEXT: list[Any] = [AS2_CONTEXT, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive", **QUOTE_TERMS}]
