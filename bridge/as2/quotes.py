"""Quote posts (FEP-044f) the way Mastodon 4.5 speaks them: policies, requests, authorizations.

Pure: dicts in, dicts out. Mastodon refuses to quote a post without a quote policy
("You are not allowed to quote this post"), so each of our posts names one in
`interactionPolicy.canQuote.automaticApproval` (app/serializers/activitypub/note_serializer.rb:
the public collection, the followers collection, or only the author for "nobody").
A server that wants to quote sends a `QuoteRequest` (object: our post; instrument: the
quoting post, embedded or by id); we answer `Accept` with a `result` naming a
`QuoteAuthorization` served at its id, which third parties dereference to check the
quote, or `Reject`. Revoking is a `Delete` of the authorization's id. Servers that quote
without asking (Misskey, Pleroma, Fedibird) name the quoted post in `_misskey_quote`,
`quoteUrl` or `quoteUri`; FEP-044f's own property is `quote`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.as2.ids import first_id, id_of
from bridge.as2.vocab import PUBLIC, QUOTE_CONTEXT
from bridge.config import QUOTE_POLICIES

# Where servers name the post they quote, FEP-044f's first (Fedify reads them in this order).
QUOTE_PROPERTIES = ("quote", "quoteUrl", "_misskey_quote", "quoteUri")


def interaction_policy(policy: str, *, actor: str, followers: str) -> dict[str, Any]:
    """A post's `interactionPolicy`: who may quote it without asking (Mastodon's shape)."""
    if policy not in QUOTE_POLICIES:
        raise ValueError(f"unknown quote policy {policy!r}")
    approved = {"public": [PUBLIC], "followers": [followers], "nobody": [actor]}[policy]
    return {"canQuote": {"automaticApproval": approved}}


def may_quote(policy: str, *, is_follower: bool) -> bool:
    """Whether a quote request is approved under `policy` (Mastodon's StatusPolicy#quote?)."""
    return policy == "public" or (policy == "followers" and is_follower)


def quoted_of(obj: Mapping[str, Any]) -> str | None:
    """The id of the post `obj` quotes, from whichever property its server uses."""
    for name in QUOTE_PROPERTIES:
        if found := first_id(obj.get(name)):
            return found
    return None


def request_echo(request: Mapping[str, Any]) -> dict[str, Any]:
    """The QuoteRequest as an Accept or Reject names it: its id, type, actor, object and
    instrument (by id: the receiver finds its pending quote by these)."""
    return {"id": request["id"], "type": "QuoteRequest", "actor": id_of(request.get("actor")),
            "object": id_of(request.get("object")), "instrument": id_of(request.get("instrument"))}


def accept_quote(request: Mapping[str, Any], *, actor: str, answer_id: str, authorization: str) -> dict[str, Any]:
    """`Accept` of a QuoteRequest, its `result` the authorization's id."""
    return {"@context": QUOTE_CONTEXT, "id": answer_id, "type": "Accept", "actor": actor,
            "to": [id_of(request.get("actor"))], "object": request_echo(request), "result": authorization}


def reject_quote(request: Mapping[str, Any], *, actor: str, answer_id: str) -> dict[str, Any]:
    """`Reject` of a QuoteRequest: the policy does not let this actor quote the post."""
    return {"@context": QUOTE_CONTEXT, "id": answer_id, "type": "Reject", "actor": actor,
            "to": [id_of(request.get("actor"))], "object": request_echo(request)}


def quote_authorization(authorization: str, *, actor: str, quote: str, target: str) -> dict[str, Any]:
    """The `QuoteAuthorization` served at its id: `actor` lets `quote` quote `target`."""
    return {"@context": QUOTE_CONTEXT, "id": authorization, "type": "QuoteAuthorization",
            "attributedTo": actor, "interactingObject": quote, "interactionTarget": target}


def revoke_authorization(authorization: str, *, actor: str, quoter: str) -> dict[str, Any]:
    """`Delete` of an authorization (Mastodon's DeleteQuoteAuthorizationSerializer): the
    quoting server shows the quote as no longer approved."""
    return {"@context": QUOTE_CONTEXT, "id": f"{authorization}#delete", "type": "Delete", "actor": actor,
            "to": [PUBLIC], "cc": [quoter], "object": authorization}
