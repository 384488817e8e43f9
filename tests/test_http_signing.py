"""Signed requests out (bridge/net/signed.py) against a real local server: what we send
is checked by independent verifiers (Fedify, both schemes; the npm http-message-signatures
draft-cavage verifier; the Python http-message-signatures package for RFC 9421), and
double-knocking falls back, honours Accept-Signature, and is remembered per host. The
test peer's own check (tests/fedi.py) is Fedify's: shown here to use the key and clock given."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from bridge.app import new_http_session
from bridge.config import Config
from bridge.models import RemoteHost
from bridge.net.signed import remembered_scheme, signed_get, signed_post
from bridge.signatures import Scheme, SigningKey, http_date, parse_signature_header
from tests.fedi import Peer, Seen, b64, fedify_verdict, keypair, node_peers

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://bridge.example/users/blog#main-key"
BODY = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Update","id":"https://bridge.example/x"}'


@pytest.fixture
async def session(database: Config) -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_session(database) as session:
        yield session


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    peer = await Peer.start(verify_with=keypair("blog")[1], clock=lambda: NOW)
    peer.serve("/inbox", b"", status=202, content_type="text/plain")
    peer.serve("/users/alice", {"id": "x", "type": "Person"})
    yield peer
    await peer.close()


def key() -> SigningKey:
    return SigningKey(KEY_ID, keypair("blog")[0])


def ticking(start: datetime = NOW, step: float = 5.0) -> Iterator[datetime]:
    n = 0
    while True:
        yield start + timedelta(seconds=step * n)
        n += 1


async def test_what_we_send_verifies_with_independent_implementations(session: aiohttp.ClientSession, peer: Peer) -> None:
    host = f"127.0.0.1:{peer.server.port}"
    for scheme in Scheme:
        await RemoteHost.update_or_create(host=host, defaults={"signature_scheme": scheme.value})
        assert (await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)).status == 202
        await signed_get(session, peer.url("/users/alice"), key(), clock=lambda: NOW)
    assert [s.verified for s in peer.seen] == [Scheme.CAVAGE, Scheme.CAVAGE, Scheme.RFC9421, Scheme.RFC9421]

    public_pem = keypair("blog")[1]
    tasks = []
    for seen in peer.seen:
        body = seen.body if seen.method == "POST" else None
        tasks.append({"op": "fedify-verify", "url": seen.url, "method": seen.method, "headers": seen.headers,
                      "body64": b64(body), "keyId": KEY_ID, "publicKeyPem": public_pem,
                      "actorId": "https://bridge.example/users/blog", "now": int(NOW.timestamp() * 1000)})
    for seen in peer.seen[:2]:  # draft-cavage, by a second implementation
        tasks.append({"op": "hms-cavage-verify", "url": seen.url, "method": seen.method, "headers": dict(seen.headers),
                      "publicKeyPem": public_pem})
    results = await node_peers(tasks)
    assert [r["verified"] for r in results] == [True] * 6, results

    # RFC 9421, by the Python http-message-signatures package (max_age off: the clock is fixed in 2025).
    public = serialization.load_pem_public_key(public_pem.encode())
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.RSA_V1_5_SHA256,
                                   key_resolver=MappingKeyResolver(public_keys={KEY_ID: public}, private_keys={}))

    class Message:
        def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
            self.method, self.url, self.headers = method, url, headers

    for seen in peer.seen[2:]:
        body = seen.body if seen.method == "POST" else None
        [result] = verifier.verify(Message(seen.method, seen.url, dict(seen.headers)), body=body, max_age=None,
                                   require_components=("@method", "@target-uri", "@authority"))
        assert result.parameters["keyid"] == KEY_ID and result.parameters["created"] == int(NOW.timestamp())


async def test_cavage_posts_sign_the_headers_mastodon_requires(session: aiohttp.ClientSession, peer: Peer) -> None:
    await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)
    headers = dict(peer.seen[0].headers)
    params = parse_signature_header(headers["Signature"])
    assert params["headers"] == "(request-target) host date digest content-type"
    assert params["keyid"] == KEY_ID and headers["Content-Type"] == "application/activity+json"
    assert headers["Date"] == http_date(NOW)


async def test_double_knocking_falls_back_and_is_remembered_per_host(session: aiohttp.ClientSession, peer: Peer) -> None:
    peer.accept = frozenset({Scheme.RFC9421})  # a server that only speaks RFC 9421
    clock = ticking()
    result = await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: next(clock))
    assert (result.status, result.scheme) == (202, Scheme.RFC9421)
    # Each knock was signed when it was sent: the second carries the later time.
    assert [(s.verified, dict(s.headers)["Date"]) for s in peer.seen] == [
        (Scheme.CAVAGE, http_date(NOW)), (Scheme.RFC9421, http_date(NOW + timedelta(seconds=5)))]
    host = f"127.0.0.1:{peer.server.port}"
    assert await remembered_scheme(host) is Scheme.RFC9421
    # Next time, one knock only.
    await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)
    await signed_get(session, peer.url("/users/alice"), key(), clock=lambda: NOW)
    assert [s.verified for s in peer.seen[2:]] == [Scheme.RFC9421, Scheme.RFC9421]
    # The server changes its mind: back to draft-cavage, remembered again.
    peer.accept = frozenset({Scheme.CAVAGE})
    await signed_get(session, peer.url("/users/alice"), key(), clock=lambda: NOW)
    assert [s.verified for s in peer.seen[4:]] == [Scheme.RFC9421, Scheme.CAVAGE]
    assert await remembered_scheme(host) is Scheme.CAVAGE
    assert await RemoteHost.all().count() == 1


async def test_an_accept_signature_challenge_is_honoured(session: aiohttp.ClientSession, peer: Peer) -> None:
    peer.accept = frozenset({Scheme.RFC9421})
    peer.challenge = 'sig2=("@method" "@target-uri" "@authority" "content-digest" "content-type");nonce="n-123";tag="fedi"'
    result = await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)
    assert result.status == 202
    answered = dict(peer.seen[1].headers)
    assert answered["Signature-Input"].startswith('sig2=("@method" "@target-uri" "@authority" "content-digest" "content-type")')
    assert ';nonce="n-123";tag="fedi"' in answered["Signature-Input"] and answered["Signature"].startswith("sig2=:")


async def test_a_refusal_of_both_schemes_is_returned_not_remembered(session: aiohttp.ClientSession, peer: Peer) -> None:
    peer.accept = frozenset()  # refuses everything
    result = await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)
    assert (result.status, result.scheme, len(peer.seen)) == (401, Scheme.RFC9421, 2)
    assert await RemoteHost.all().count() == 0


async def test_the_peer_verdicts_are_fedifys_with_the_key_and_clock_given(session: aiohttp.ClientSession,
                                                                       peer: Peer) -> None:
    """What every `Peer(verify_with=…)` test relies on: Fedify verifies both schemes with the
    key and time it is given, and only with those."""
    host = f"127.0.0.1:{peer.server.port}"
    for scheme in Scheme:
        await RemoteHost.update_or_create(host=host, defaults={"signature_scheme": scheme.value})
        await signed_post(session, peer.url("/inbox"), BODY, key(), clock=lambda: NOW)
        await signed_get(session, peer.url("/users/alice"), key(), clock=lambda: NOW)
    assert [s.verified for s in peer.seen] == [Scheme.CAVAGE, Scheme.CAVAGE, Scheme.RFC9421, Scheme.RFC9421]
    other = keypair("alice")[1]

    async def verdicts(public_pem: str, now: datetime) -> list[Scheme | str]:
        return [await fedify_verdict(seen, public_pem, now) for seen in peer.seen]

    # Fedify's window is an hour both ways (the Date header; RFC 9421's `created`).
    assert await verdicts(keypair("blog")[1], NOW + timedelta(minutes=59)) == [s.verified for s in peer.seen]
    assert await verdicts(keypair("blog")[1], NOW - timedelta(minutes=59)) == [s.verified for s in peer.seen]
    assert set(await verdicts(keypair("blog")[1], NOW + timedelta(minutes=61))) == {"invalidSignature"}
    assert set(await verdicts(keypair("blog")[1], NOW - timedelta(minutes=61))) == {"invalidSignature"}
    assert set(await verdicts(other, NOW)) == {"invalidSignature"}
    unsigned = Seen("GET", peer.url("/users/alice"), [("Host", host)], b"", "127.0.0.1")
    assert await fedify_verdict(unsigned, keypair("blog")[1], NOW) == "noSignature"
    for posted in (peer.seen[0], peer.seen[2]):  # a body changed on the way: its digest no longer matches
        tampered = Seen(posted.method, posted.url, posted.headers, posted.body.replace(b"Update", b"Delete"), "")
        assert await fedify_verdict(tampered, keypair("blog")[1], NOW) == "invalidSignature"


async def test_a_fedify_server_takes_a_get_with_a_query_at_the_second_knock(session: aiohttp.ClientSession,
                                                                            peer: Peer) -> None:
    """Fedify 2.3 signs and checks draft-cavage `(request-target)` as the path alone; we sign
    it with the query (draft-cavage-12 §2.3, as Mastodon since 4.3). So a Fedify server
    refuses our draft-cavage GET of a URL with a query, and the RFC 9421 knock gets through."""
    peer.accept = frozenset(Scheme)  # what Fedify verifies, either scheme
    peer.serve("/users/alice/outbox", {"type": "OrderedCollectionPage"})
    fetched = await signed_get(session, peer.url("/users/alice/outbox?page=2"), key(), clock=lambda: NOW)
    assert [s.verified for s in peer.seen] == ["invalidSignature", Scheme.RFC9421]
    assert await remembered_scheme(f"127.0.0.1:{peer.server.port}") is Scheme.RFC9421
    assert fetched.status == 200 and b"OrderedCollectionPage" in fetched.body
