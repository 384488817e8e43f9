"""Remote actors (bridge/net/remote.py) from a real local server: signed GETs as the instance
actor, checks on what comes back, the cache and its refresh, 410 Gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bridge.app import new_http_session, prepare_storage
from bridge.config import Config
from bridge.db import close_db
from bridge.keys import INSTANCE_ACTOR, active_key
from bridge.models import RemoteActor
from bridge.net.fetch import HTTPStatusError
from bridge.net.remote import ActorGone, DocumentRefused, RemoteActors
from bridge.signatures import Scheme
from tests.fedi import Peer, keypair

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def setup(config: Config) -> AsyncIterator[tuple[RemoteActors, Peer, Clock]]:
    await prepare_storage(config)  # schema and our keys, the instance actor's among them
    clock = Clock()
    peer = await Peer.start(verify_with=(await active_key(INSTANCE_ACTOR)).public_pem, clock=clock)
    session = new_http_session(config)
    try:
        yield RemoteActors(session, config.server.base_url, clock=clock), peer, clock
    finally:
        await session.close()
        await peer.close()
        await close_db()


async def test_an_actor_is_fetched_signed_and_cached_then_refreshed(setup: tuple[RemoteActors, Peer, Clock]) -> None:
    remote, peer, clock = setup
    uri = peer.actor("alice", keypair("alice")[1], icon={"type": "Image", "url": "https://cdn.example/a.png"},
                     url="https://social.example/@alice")
    actor = await remote.get(uri)
    assert (actor.uri, actor.inbox, actor.shared_inbox, actor.handle, actor.name, actor.icon_url, actor.profile_url) == (
        uri, f"{uri}/inbox", f"{peer.base}/inbox", "alice@127.0.0.1", "Alice", "https://cdn.example/a.png",
        "https://social.example/@alice")
    assert actor.key_id == f"{uri}#main-key" and actor.public_key_pem == keypair("alice")[1]
    [seen] = peer.seen
    assert seen.verified is Scheme.CAVAGE  # signed as the instance actor
    assert dict(seen.headers)["Signature"].startswith('keyId="https://bridge.example/actor#main-key"')
    assert dict(seen.headers)["Accept"] == ('application/activity+json, application/ld+json; '
                                            'profile="https://www.w3.org/ns/activitystreams"')
    await remote.get(uri)
    assert len(peer.seen) == 1  # fresh in the cache
    clock.now += timedelta(days=2)
    peer.actor("alice", keypair("alice")[1], name="Alice B.")
    assert (await remote.get(uri)).name == "Alice B."
    assert len(peer.seen) == 2 and await RemoteActor.all().count() == 1


async def test_an_actor_that_answers_410_is_gone(setup: tuple[RemoteActors, Peer, Clock]) -> None:
    remote, peer, _clock = setup
    uri = peer.actor("alice", keypair("alice")[1])
    await remote.get(uri)
    peer.serve("/users/alice", {"type": "Tombstone"}, status=410)
    with pytest.raises(ActorGone):
        await remote.get(uri, refresh=True)
    assert (await RemoteActor.get(uri=uri)).gone_at == NOW
    with pytest.raises(ActorGone):  # without asking again
        await remote.get(uri)
    assert len(peer.seen) == 2


@pytest.mark.parametrize(("document", "content_type", "problem"), [
    ({"id": "ID", "type": "Person", "inbox": "ID/inbox"}, "text/html", "content type"),
    ({"id": "https://elsewhere.example/users/alice", "type": "Person"}, "application/activity+json", "not the URL asked for"),
    ({"id": "ID", "type": "Note"}, "application/activity+json", "not an actor"),
    ({"id": "ID", "type": "Person", "publicKey": {"id": "ID#k", "owner": "https://elsewhere.example/u", "publicKeyPem": "x"}},
     'application/ld+json; profile="https://www.w3.org/ns/activitystreams"', "owned by"),
])
async def test_documents_we_do_not_trust(setup: tuple[RemoteActors, Peer, Clock], document: dict[str, object],
                                         content_type: str, problem: str) -> None:
    remote, peer, _clock = setup
    uri = peer.url("/users/alice")
    text = str(document).replace("'", '"').replace("ID", uri)
    peer.serve("/users/alice", text.encode(), content_type=content_type)
    with pytest.raises(DocumentRefused) as caught:
        await remote.get(uri)
    assert problem in str(caught.value)
    assert await RemoteActor.all().count() == 0


async def test_a_missing_actor_is_an_http_error(setup: tuple[RemoteActors, Peer, Clock]) -> None:
    remote, peer, _clock = setup
    with pytest.raises(HTTPStatusError) as caught:
        await remote.get(peer.url("/users/nobody"))
    assert caught.value.status == 404
