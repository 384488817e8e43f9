"""Our activities carry an integrity proof (FEP-8b32, `eddsa-jcs-2022`) made with the blog's
Ed25519 key, the FEP-521a Multikey its actor lists in `assertionMethod`.

An edge over bridge/signatures/proofs.py, used by the delivery (bridge/publish/delivery.py) as
an activity leaves: the proof says the blog wrote it, wherever it is forwarded or relayed,
as the HTTP signature says who delivered it. A fan-out's activity is signed once per process
(the delivery remembers the signed body). Mastodon 4.7 and Fedify verify such proofs; Fedify
finds one only when the activity's `@context` defines it, so the data-integrity context is
put right after the ActivityStreams one. An actor without an Ed25519 key yet (one made
before this version, until `bridge migrate` or the daemon's start makes it) sends unsigned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.as2.vocab import AS2_CONTEXT
from bridge.keys import ED25519, NoKey, key_id_of, signing_key
from bridge.signatures import SigningKey, sign_object

DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v1"
PROOF_KEY_TTL = 300.0  # seconds a process keeps an actor's Ed25519 key in memory


def with_integrity_context(activity: Mapping[str, Any]) -> dict[str, Any]:
    """The activity with the data-integrity context after the ActivityStreams one."""
    context = activity.get("@context", AS2_CONTEXT)
    items = list(context) if isinstance(context, list) else [context]
    if DATA_INTEGRITY_CONTEXT not in items:
        at = items.index(AS2_CONTEXT) + 1 if AS2_CONTEXT in items else 0
        items.insert(at, DATA_INTEGRITY_CONTEXT)
    return {"@context": items, **{k: v for k, v in activity.items() if k != "@context"}}


def prove(activity: Mapping[str, Any], key: SigningKey, now: datetime) -> dict[str, Any]:
    """The activity with our proof (made with `key`, an Ed25519 key under its published id)."""
    return sign_object(with_integrity_context(activity), key.private_pem, key.key_id, now)


async def proof_key(base_url: str, actor: str) -> SigningKey | None:
    """The actor's Ed25519 key under its Multikey id, or None when it has none yet."""
    try:
        key = await signing_key(base_url, actor, ED25519)
    except NoKey:
        return None
    assert key.key_id == key_id_of(base_url, actor, ED25519)
    return key
