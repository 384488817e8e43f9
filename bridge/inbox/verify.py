"""Inbound trust: authenticate the signer of a request, then authorise it for the activity.

1. `inspect_signature`: every check that needs no key (bridge/signatures/__init__.py).
2. the key, by keyId, from the cache or fetched (bridge/net/remote.py); when the signature
   does not verify with a cached key, the key is fetched once more and tried again
   (the sender may have rotated it: Fedify's `verifyRequestDraft` does the same).
3. authorise (Fedify sig/owner.ts `doesActorOwnKey`; Mastodon's inbox checks): the key's
   owner must be the activity's `actor`; the activity's id must be on the actor's host,
   and so must the object's id when the activity creates, changes or deletes it, and a
   created or changed object's `attributedTo` must be the actor.
4. an integrity proof in the body (FEP-8b32, `eddsa-jcs-2022`; `proven_author`) is verified
   with the Multikey its `verificationMethod` names, when the actor controls it: one that
   fails is refused (401 `bad_proof`) whoever delivered it; one that verifies makes a
   forwarded activity (signer ≠ actor: inbox forwarding, a relay) the actor's own. Without
   one, a forwarded activity is refused (`signer_not_actor`). LD signatures (`signature`),
   proofs of other cryptosuites and proofs that prove nothing (malformed, an unknown key)
   are tolerated and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.as2.ids import id_of
from bridge.as2.remote_actor import MultikeyInfo, ResolvedKey
from bridge.core.clock import Clock
from bridge.core.links import host_of
from bridge.signatures import (
    HttpRequest,
    ProofError,
    Reason,
    Rejection,
    Scheme,
    check_signature,
    inspect_signature,
    proofs_of,
    verify_proof,
)

# Activities whose object the actor makes or changes: the object must be the actor's own.
OWN_OBJECT_TYPES = frozenset({"Create", "Update", "Delete"})


class KeyResolver(Protocol):
    """Finds a signer's key (bridge/net/remote.py `RemoteActors`)."""

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | Rejection: ...

    async def resolve_multikey(self, key_id: str, *, refresh: bool = False) -> MultikeyInfo | Rejection:
        """The Ed25519 key an integrity proof names, listed by its controller."""

    async def remember(self, key: ResolvedKey, *, using_db: Any = None) -> None:
        """Store a freshly fetched key; called in the transaction that accepts the request."""


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature verified and whose signer is the activity's actor."""

    key_id: str
    scheme: Scheme
    actor: str
    key: ResolvedKey  # store it (`RemoteActors.remember`) when the request is accepted


async def verify_request(
    request: HttpRequest, activity: Mapping[str, Any], *, clock: Clock, keys: KeyResolver
) -> Verified | Rejection:
    """Authenticate then authorise; a `Rejection` says why not. Writes nothing."""
    candidate = inspect_signature(request, clock())
    if isinstance(candidate, Rejection):
        return candidate
    key = await keys.resolve_key(candidate.key_id)
    if isinstance(key, Rejection):
        return key
    verdict = check_signature(candidate, key.pem)
    if isinstance(verdict, Rejection) and key.actor is None:
        # The cached key failed: the sender may have a new one. Fetch it once.
        fresh = await keys.resolve_key(candidate.key_id, refresh=True)
        if isinstance(fresh, Rejection):
            return fresh
        key = fresh
        verdict = check_signature(candidate, key.pem)
    if isinstance(verdict, Rejection):
        return verdict
    author = await proven_author(activity, key.owner, keys)
    if isinstance(author, Rejection):
        return author
    if problem := authorise(activity, author, key.key_id):
        return problem
    return Verified(verdict.key_id, verdict.scheme, author, key)


async def proven_author(activity: Mapping[str, Any], signer: str, keys: KeyResolver) -> str | Rejection:
    """Who the activity is from: its signer, or, for an activity the signer forwards or relays,
    its actor if an integrity proof by a key the actor controls verifies (FEP-8b32).

    A proof of ours (`eddsa-jcs-2022`) by the actor's key that does not verify is refused,
    whoever delivered it: the activity was changed after it was signed, or forged. A proof
    that proves nothing either way (malformed, its key unknown or unreachable now, or someone
    else's key) is skipped, and the HTTP signature decides, as before proofs. Proofs of other
    kinds are left alone."""
    actor = id_of(activity.get("actor"))
    for proof in proofs_of(activity):
        method = proof.verification_method
        if not proof.supported or proof.problem or method is None:
            continue
        key = await keys.resolve_multikey(method)
        if isinstance(key, Rejection) or key.controller != actor:
            continue
        try:
            verify_proof(activity, proof, key.multibase)
        except ProofError as exc:
            return Rejection(Reason.BAD_PROOF, f"the integrity proof does not verify: {exc.reason}", method)
        return key.controller
    return signer


def authorise(activity: Mapping[str, Any], signer: str, key_id: str) -> Rejection | None:
    """Whether the authenticated `signer` may send this activity; None when it may."""
    actor = id_of(activity.get("actor"))
    if actor != signer:
        return Rejection(Reason.SIGNER_NOT_ACTOR, f"signed by {signer}, but the actor is {actor}", key_id)
    home = host_of(signer)
    activity_id = id_of(activity)
    if activity_id is None or host_of(activity_id) != home:
        return Rejection(Reason.FOREIGN_ID, f"the activity id {activity_id} is not on {home}", key_id)
    kind = activity.get("type")
    if isinstance(kind, str) and kind in OWN_OBJECT_TYPES:  # the inbox refuses other types before this
        obj = activity.get("object")
        object_id = id_of(obj)
        if object_id is not None and host_of(object_id) != home:
            return Rejection(Reason.FOREIGN_ID, f"the object id {object_id} is not on {home}", key_id)
        if kind != "Delete" and isinstance(obj, Mapping) and "attributedTo" in obj:
            authors = obj["attributedTo"] if isinstance(obj["attributedTo"], list) else [obj["attributedTo"]]
            if not [a for a in authors if a is not None]:
                return Rejection(Reason.INVALID_ACTIVITY, "the object's attributedTo is empty: it names no author", key_id)
            if any(id_of(a) != signer for a in authors):
                return Rejection(Reason.FOREIGN_ID, f"the object is attributed to someone else than {signer}", key_id)
    return None
