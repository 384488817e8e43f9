"""Integrity proofs on what arrives (issue 20, part 5; FEP-8b32 `eddsa-jcs-2022`, FEP-521a
Multikeys), at the HTTP boundary as tests/test_inbox.py tests it, with the actors' documents
served by a real local server:
- a reply forwarded by someone else (inbox forwarding, a relay) is the author's own when the
  author's proof verifies, and is stored as the author's;
- the same with one word changed, or signed with another key in the author's name, is
  refused (401 `bad_proof`), whoever delivered it, and nothing is stored;
- a forwarded reply without a proof is still refused (`signer_not_actor`).
Proofs made by Fedify's own signer: tests/test_proofs.py; a group-relayed activity with its
author's proof: tests/test_groups_and_moves.py."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from bridge.keys import new_ed25519_pair
from bridge.models import InboxActivity
from bridge.signatures import SigningKey, multikey_document, sign_object
from tests.fedi import keypair

from .test_inbox import PUBLIC, World, refused, w  # noqa: F401  (the fixture)

SIGNED_AT = datetime(2025, 3, 1, 11, 59, tzinfo=UTC)
_ED25519 = new_ed25519_pair()  # (private PEM, public PEM), one for the module: made in ~50 µs anyway


def serve_with_multikey(w: World, username: str, public_ed25519: str) -> str:
    """An actor (RSA key for signatures) whose Ed25519 Multikey is in `assertionMethod`."""
    uri = f"{w.peer.base}/users/{username}"
    _, rsa_public = keypair(username)
    w.peer.actor(username, rsa_public, assertionMethod=[multikey_document(f"{uri}#ed25519", uri, public_ed25519)])
    return uri


def reply(author: str) -> dict[str, Any]:
    return {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
            "id": f"{author}/statuses/7/activity", "type": "Create", "actor": author,
            "object": {"id": f"{author}/statuses/7", "type": "Note", "attributedTo": author,
                       "content": "<p>Forwarded to you.</p>", "inReplyTo": f"{PUBLIC}/users/blog/posts/1"}}


def forwarder(w: World) -> SigningKey:
    """Someone on the same server who forwards (their own actor, their own RSA key)."""
    private, public = keypair("forwarder")
    uri = w.peer.actor("forwarder", public)
    return SigningKey(f"{uri}#main-key", private)


async def test_a_forwarded_reply_with_its_authors_proof_is_the_authors(w: World) -> None:
    private, public = _ED25519
    author = serve_with_multikey(w, "carol", public)
    signed = sign_object(reply(author), private, f"{author}#ed25519", SIGNED_AT)
    assert await w.post(signed, key=forwarder(w)) == (202, {})
    row = await InboxActivity.get(activity_id=f"{author}/statuses/7/activity")
    assert row.actor == author and row.key_id == f"{w.peer.base}/users/forwarder#main-key"


async def test_a_changed_or_forged_proof_is_refused_whoever_delivers_it(w: World) -> None:
    private, public = _ED25519
    author = serve_with_multikey(w, "carol", public)
    signed = sign_object(reply(author), private, f"{author}#ed25519", SIGNED_AT)
    changed = copy.deepcopy(signed)
    changed["object"]["content"] = "<p>Forwarded to you, with a link to buy things.</p>"
    answer = await refused(w, 401, "bad_proof", activity=changed, key=forwarder(w))
    assert "does not verify" in answer["detail"]
    # Another Ed25519 key made the proof, naming carol's key: the same.
    forged = sign_object(reply(author), new_ed25519_pair()[0], f"{author}#ed25519", SIGNED_AT)
    await refused(w, 401, "bad_proof", activity=forged, key=forwarder(w))
    # Delivered by carol herself (her HTTP signature is good): a proof that fails still fails.
    rsa_private, _ = keypair("carol")
    await refused(w, 401, "bad_proof", activity=changed, key=SigningKey(f"{author}#main-key", rsa_private))


async def test_a_forwarded_reply_without_a_proof_or_with_someone_elses_is_refused(w: World) -> None:
    private, public = _ED25519
    author = serve_with_multikey(w, "carol", public)
    await refused(w, 401, "signer_not_actor", activity=reply(author), key=forwarder(w))
    # The forwarder's own proof says nothing about carol.
    other = serve_with_multikey(w, "dave", new_ed25519_pair()[1])
    by_dave = sign_object(reply(author), private, f"{other}#ed25519", SIGNED_AT)
    await refused(w, 401, "signer_not_actor", activity=by_dave, key=forwarder(w))
