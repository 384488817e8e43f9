"""The inboxes at the HTTP boundary: the real app under aiohttp's TestServer, remote actor
documents served by a real local server (tests/fedi.py `Peer`), the clock injected.

Accepted: our own signer (both schemes), Fedify's (both schemes), the npm
http-message-signatures draft-cavage signer in Mastodon's header order with a query
string, and the Python http-message-signatures package (RFC 9421).
Refused: one test per attack, each asserting the status, the reason, and that no
table changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from bridge.app import make_app, new_http_session
from bridge.config import Config, SecurityConfig
from bridge.inbox.keycache import KeyCache
from bridge.inbox.routes import TRUST, Trust
from bridge.jobs.kinds import ProcessInbox
from bridge.keys import INSTANCE_ACTOR, active_key
from bridge.models import InboxActivity, Job, RemoteActor
from bridge.net.remote import RemoteActors
from bridge.signatures import Scheme, SigningKey, digest_header, http_date
from tests.fedi import AS2, FakeResolver, Peer, b64, craft_cavage, keypair, node_peers, row_counts, signed_headers

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
PUBLIC = "https://bridge.example"  # the config's base_url: what senders address
INBOX = "/users/blog/inbox"


def clock() -> datetime:
    return NOW


@dataclass
class World:
    client: TestClient
    peer: Peer
    alice: str  # her actor id on the peer
    key: SigningKey  # her signing key

    def activity(self, **changes: Any) -> dict[str, Any]:
        """A reply from alice to a blog post, with LD-signature and proof fields a receiver may ignore."""
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.alice}/statuses/1/activity", "type": "Create", "actor": self.alice,
            "object": {"id": f"{self.alice}/statuses/1", "type": "Note", "attributedTo": self.alice,
                       "content": "<p>Nice post!</p>", "inReplyTo": f"{PUBLIC}/users/blog/posts/1"},
            "signature": {"type": "RsaSignature2017", "creator": f"{self.alice}#main-key", "signatureValue": "AAAA"},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofValue": "z111"},
        }
        activity.update(changes)
        return activity

    async def post(self, activity: dict[str, Any] | bytes, *, path: str = INBOX, key: SigningKey | None = None,
                   scheme: Scheme = Scheme.CAVAGE, now: datetime = NOW,
                   tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]] | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        sent = headers if headers is not None else signed_headers("POST", PUBLIC + path, body, key or self.key, now, scheme)
        if tamper:
            sent, body = tamper(dict(sent), body)
        response = await self.client.post(path, data=body, headers=sent)
        text = await response.text()
        return response.status, (json.loads(text) if text else {})


@asynccontextmanager
async def world(config: Config, *, strict: bool = False, resolver: FakeResolver | None = None,
                allowed: tuple[str, ...] = ()) -> AsyncIterator[World]:
    if strict:
        config = replace(config, security=SecurityConfig(allow_private_addresses=False))
    peer = await Peer.start(clock=clock)
    session = new_http_session(config, resolver=resolver, allowed_networks=[ip_network(a) for a in allowed])
    app = make_app(config, workers=False)
    app[TRUST] = Trust(KeyCache(RemoteActors(session, config.server.base_url, clock=clock)), clock=clock)
    private, public = keypair("alice")
    alice = peer.actor("alice", public)
    try:
        async with TestClient(TestServer(app)) as client:
            peer.verify_with = (await active_key(INSTANCE_ACTOR)).public_pem  # what the peer checks our GETs with
            yield World(client, peer, alice, SigningKey(f"{alice}#main-key", private))
    finally:
        await session.close()
        await peer.close()


@pytest.fixture
async def w(config: Config) -> AsyncIterator[World]:
    async with world(config) as w:
        yield w


async def refused(w: World, status: int, reason: str, **post: Any) -> dict[str, Any]:
    """Send, and check the answer and that no table changed."""
    activity = post.pop("activity", None) or w.activity()
    before = await row_counts()
    got_status, answer = await w.post(activity, **post)
    assert (got_status, answer.get("error")) == (status, reason), answer
    assert await row_counts() == before
    return answer


# -- accepted -----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(Scheme))
async def test_a_signed_reply_is_stored_with_its_job_and_answered_202(w: World, scheme: Scheme,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    before = await row_counts()
    caplog.set_level(logging.INFO, "bridge.inbox")
    assert await w.post(w.activity(), scheme=scheme) == (202, {})
    row = await InboxActivity.get(activity_id=f"{w.alice}/statuses/1/activity")
    assert (row.actor, row.type, row.recipient, row.key_id, row.signature_scheme) == (
        w.alice, "Create", "blog", f"{w.alice}#main-key", scheme.value)
    assert row.body["proof"]["type"] == "DataIntegrityProof"  # kept as received
    job = await Job.get(kind=ProcessInbox.KIND)
    assert job.payload == {"inbox_activity": row.id, "activity_id": row.activity_id, "type": "Create", "recipient": "blog"}
    cached = await RemoteActor.get(uri=w.alice)
    assert (cached.key_id, cached.inbox, cached.shared_inbox, cached.handle) == (
        f"{w.alice}#main-key", f"{w.alice}/inbox", f"{w.peer.base}/inbox", "alice@127.0.0.1")
    after = await row_counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "InboxActivity": 1, "Job": 1, "RemoteActor": 1, "RemoteHost": 1}
    # The key was fetched with a GET signed as the instance actor, asking for AS2.
    [fetch] = w.peer.seen
    assert fetch.method == "GET" and fetch.url == w.alice and fetch.verified is Scheme.CAVAGE
    assert dict(fetch.headers)["Accept"].startswith("application/activity+json")
    assert any("inbox.accepted" in r.message for r in caplog.records)


async def test_the_shared_inbox_and_a_redelivery(w: World) -> None:
    assert await w.post(w.activity(), path="/inbox") == (202, {})
    assert await w.post(w.activity(), path="/inbox", scheme=Scheme.RFC9421) == (202, {})  # the same id again
    assert await InboxActivity.all().count() == 1 and await Job.filter(kind=ProcessInbox.KIND).count() == 1
    assert (await InboxActivity.get()).recipient is None
    assert len(w.peer.seen) == 1  # the second time the key came from the cache


async def test_a_burst_is_stored_in_few_commits_each_answered_once_durable(w: World) -> None:
    assert (await w.post(w.activity()))[0] == 202  # her key is fetched and stored with this one
    ids = [f"{w.alice}/statuses/{n}/activity" for n in range(2, 32)]
    # 30 at once, plus a redelivery of one of them in the same burst: one group commit or a few.
    answers = await asyncio.gather(*(w.post(w.activity(id=i), path="/inbox") for i in [*ids, ids[0]]))
    assert [status for status, _ in answers] == [202] * 31
    stored = {row.activity_id: row for row in await InboxActivity.all()}
    assert set(stored) == {f"{w.alice}/statuses/1/activity", *ids}
    jobs = await Job.filter(kind=ProcessInbox.KIND).order_by("id")
    assert sorted(job.payload["activity_id"] for job in jobs) == sorted(stored)  # one job each, no twin
    for job in jobs:
        row = stored[job.payload["activity_id"]]
        expected = ProcessInbox(row.id, row.activity_id, "Create", row.recipient)
        assert job.payload == expected.payload()  # as the PostgreSQL batch writes it in SQL, too
        assert ProcessInbox.from_payload(job.payload) == expected
        assert row.actor == w.alice and row.body["id"] == row.activity_id and row.key_id == f"{w.alice}#main-key"
    assert len(w.peer.seen) == 1  # the key came from the cache for the whole burst


async def test_a_nul_character_is_refused_alone_and_its_burst_is_stored(w: World) -> None:
    assert (await w.post(w.activity()))[0] == 202
    bad = w.activity(id=f"{w.alice}/statuses/9/activity")
    bad["object"] = {**bad["object"], "id": f"{w.alice}/statuses/9", "content": "<p>a\x00b</p>"}  # no database stores NUL
    good = [w.activity(id=f"{w.alice}/statuses/{n}/activity") for n in range(10, 16)]
    answers = await asyncio.gather(*(w.post(a, path="/inbox") for a in [*good[:3], bad, *good[3:]]))
    assert [status for status, _ in answers] == [202] * 3 + [400] + [202] * 3
    assert answers[3][1]["error"] == "invalid_activity" and "NUL" in answers[3][1]["detail"]
    stored = set(await InboxActivity.all().values_list("activity_id", flat=True))
    assert stored == {f"{w.alice}/statuses/1/activity", *(a["id"] for a in good)}
    assert await Job.filter(kind=ProcessInbox.KIND).count() == 7


async def test_a_rotated_remote_key_is_fetched_again_once(w: World) -> None:
    assert (await w.post(w.activity()))[0] == 202
    new_private, new_public = keypair("alice-2")
    w.peer.actor("alice", new_public)  # alice rotated her key; our cache still has the old one
    new_key = SigningKey(w.key.key_id, new_private)
    assert (await w.post(w.activity(id=f"{w.alice}/statuses/2/activity"), key=new_key))[0] == 202
    assert (await RemoteActor.get(uri=w.alice)).public_key_pem == new_public
    assert len(w.peer.seen) == 2
    # A forged signature against the fresh cache costs one more fetch, then fails.
    await refused(w, 401, "bad_signature", activity=w.activity(id=f"{w.alice}/statuses/3/activity"),
                  key=SigningKey(w.key.key_id, keypair("mallory")[0]))
    assert len(w.peer.seen) == 3


async def test_a_key_document_with_an_owner_leads_to_the_owner(w: World) -> None:
    private, public = keypair("carol")
    carol = f"{w.peer.base}/users/carol"
    key_id = f"{w.peer.base}/keys/carol"
    w.peer.serve("/keys/carol", {"@context": "https://w3id.org/security/v1", "id": key_id, "type": "CryptographicKey",
                                 "owner": carol, "publicKeyPem": public})
    w.peer.serve("/users/carol", {"id": carol, "type": "Person", "inbox": f"{carol}/inbox",
                                  "publicKey": {"id": key_id, "owner": carol, "publicKeyPem": public}})
    activity = w.activity(id=f"{carol}/follows/1", type="Follow", actor=carol, object=f"{PUBLIC}/users/blog")
    assert await w.post(activity, key=SigningKey(key_id, private)) == (202, {})
    assert (await RemoteActor.get(uri=carol)).key_id == key_id


async def test_requests_signed_by_fedify_are_accepted(w: World) -> None:
    private, _public = keypair("alice")
    activities = [w.activity(id=f"{w.alice}/statuses/{n}/activity") for n in (1, 2)]
    tasks = [{"op": "fedify-sign", "url": PUBLIC + INBOX, "method": "POST", "headers": {"Content-Type": AS2},
              "body64": b64(json.dumps(a).encode()), "privateKeyPem": private, "keyId": w.key.key_id,
              "now": int(NOW.timestamp() * 1000), "spec": spec}
             for a, spec in zip(activities, ("draft-cavage-http-signatures-12", "rfc9421"))]
    signed = await node_peers(tasks)
    for activity, result in zip(activities, signed):
        assert await w.post(json.dumps(activity).encode(), headers=result["headers"]) == (202, {})
    schemes = [r.signature_scheme for r in await InboxActivity.all().order_by("id")]
    assert schemes == ["cavage", "rfc9421"]


async def test_mastodons_header_order_with_a_query_string_is_accepted(w: World) -> None:
    """Signed by the npm http-message-signatures package (draft-cavage), covered headers in
    the order Mastodon lists them, `(request-target)` last and carrying the query string."""
    private, _public = keypair("alice")
    body = json.dumps(w.activity()).encode()
    path = INBOX + "?from=mastodon&x=1"
    headers = {"Host": "bridge.example", "Date": http_date(NOW), "Content-Type": AS2, "Digest": digest_header(body)}
    [result] = await node_peers([{"op": "hms-cavage-sign", "url": PUBLIC + path, "method": "POST", "headers": headers,
                                  "privateKeyPem": private, "keyId": w.key.key_id,
                                  "fields": ["host", "date", "content-type", "digest", "@request-target"]}])
    assert 'headers="host date content-type digest (request-target)"' in result["headers"]["Signature"]
    assert await w.post(body, path=path, headers=result["headers"]) == (202, {})


async def test_requests_signed_by_http_message_signatures_are_accepted(w: World) -> None:
    class Message:
        def __init__(self) -> None:
            self.method, self.url, self.headers = "POST", PUBLIC + INBOX, {"Content-Type": AS2}

    body = json.dumps(w.activity()).encode()
    private = serialization.load_pem_private_key(keypair("alice")[0].encode(), None)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={w.key.key_id: private}))
    message = Message()
    signer.sign(message, key_id=w.key.key_id, created=NOW, body=body, label="pyhms")
    assert await w.post(body, headers=message.headers) == (202, {})


# -- refused: one test per attack ---------------------------------------------------------


async def test_attack_no_signature(w: World) -> None:
    await refused(w, 401, "no_signature", headers={"Content-Type": AS2})


async def test_attack_malformed_signature_header(w: World) -> None:
    await refused(w, 400, "malformed_signature", headers={"Content-Type": AS2, "Date": http_date(NOW),
                                                          "Signature": 'keyId="x", this is not a signature'})


async def test_attack_unknown_key(w: World) -> None:
    nobody = SigningKey(f"{w.peer.base}/users/nobody#main-key", keypair("mallory")[0])
    answer = await refused(w, 401, "unknown_key", key=nobody)
    assert "404" in answer["detail"]


async def test_attack_forged_signature(w: World) -> None:
    await refused(w, 401, "bad_signature", key=SigningKey(w.key.key_id, keypair("mallory")[0]))


async def test_attack_tampered_body(w: World) -> None:
    def tamper(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        return headers, body.replace(b"Nice post!", b"Buy my pills")

    await refused(w, 401, "digest_mismatch", tamper=tamper)


async def test_attack_tampered_body_with_a_matching_digest(w: World) -> None:
    def tamper(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        body = body.replace(b"Nice post!", b"Buy my pills")
        return {**headers, "Digest": digest_header(body)}, body  # the signed Digest changed

    await refused(w, 401, "bad_signature", tamper=tamper)


async def test_attack_tampered_signed_header(w: World) -> None:
    def tamper(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        return {**headers, "Date": http_date(NOW + timedelta(seconds=30))}, body  # still in the window

    await refused(w, 401, "bad_signature", tamper=tamper)


async def test_attack_digest_missing(w: World) -> None:
    headers = craft_cavage("POST", PUBLIC + INBOX, {"Host": "bridge.example", "Date": http_date(NOW), "Content-Type": AS2},
                           ["(request-target)", "host", "date"], w.key)
    await refused(w, 401, "digest_missing", headers=headers)


async def test_attack_digest_not_signed(w: World) -> None:
    body = json.dumps(w.activity()).encode()
    headers = craft_cavage("POST", PUBLIC + INBOX, {"Host": "bridge.example", "Date": http_date(NOW), "Content-Type": AS2,
                                                    "Digest": digest_header(body)},
                           ["(request-target)", "host", "date"], w.key)
    await refused(w, 401, "unsigned_component", activity=body, headers=headers)


async def test_attack_date_too_old(w: World) -> None:
    await refused(w, 401, "date_too_old", now=NOW - timedelta(hours=2))


async def test_attack_date_too_new(w: World) -> None:
    await refused(w, 401, "date_too_new", now=NOW + timedelta(hours=2), scheme=Scheme.RFC9421)


async def test_attack_query_string_not_signed(w: World) -> None:
    """A signature whose (request-target) leaves out the query cannot be moved to a URL with one."""
    body = json.dumps(w.activity()).encode()
    headers = craft_cavage("POST", PUBLIC + INBOX, {"Host": "bridge.example", "Date": http_date(NOW), "Content-Type": AS2,
                                                    "Digest": digest_header(body)},
                           ["(request-target)", "host", "date", "digest"], w.key, target=INBOX)
    await refused(w, 401, "bad_signature", activity=body, path=INBOX + "?injected=1", headers=headers)


async def test_attack_signature_made_for_another_server(w: World) -> None:
    body = json.dumps(w.activity()).encode()
    headers = signed_headers("POST", "https://other-server.example" + INBOX, body, w.key, NOW, Scheme.CAVAGE)
    await refused(w, 401, "bad_signature", activity=body, headers=headers)


async def test_attack_signer_is_not_the_actor(w: World) -> None:
    mallory = w.peer.actor("mallory", keypair("mallory")[1])
    answer = await refused(w, 401, "signer_not_actor", key=SigningKey(f"{mallory}#main-key", keypair("mallory")[0]))
    assert mallory in answer["detail"]


async def test_attack_object_id_on_another_host(w: World) -> None:
    note = {"id": "https://victim.example/notes/1", "type": "Note", "attributedTo": w.alice, "content": "x"}
    await refused(w, 401, "foreign_id", activity=w.activity(object=note))


async def test_attack_activity_id_on_another_host(w: World) -> None:
    await refused(w, 401, "foreign_id", activity=w.activity(type="Like", id="https://victim.example/likes/1",
                                                            object=f"{PUBLIC}/users/blog/posts/1"))


async def test_attack_object_attributed_to_someone_else(w: World) -> None:
    note = {"id": f"{w.alice}/statuses/9", "type": "Note", "attributedTo": f"{w.peer.base}/users/bob", "content": "x"}
    await refused(w, 401, "foreign_id", activity=w.activity(type="Update", object=note))


@pytest.mark.parametrize("authors", [None, [], [None]])
async def test_an_object_with_a_null_author_is_a_400_with_its_reason(w: World, authors: Any) -> None:
    """Issue 20 (9): a correctly signed activity whose object names no author was a 401
    foreign_id, as if it were someone else's; it is malformed, and the answer says how."""
    note = {"id": f"{w.alice}/statuses/9", "type": "Note", "attributedTo": authors, "content": "x"}
    answer = await refused(w, 400, "invalid_activity", activity=w.activity(object=note))
    assert "attributedTo is empty" in answer["detail"]


async def test_attack_key_id_at_a_private_address(config: Config) -> None:
    resolver = FakeResolver({"internal.example": ["10.0.0.5"]})
    async with world(config, strict=True, resolver=resolver) as w:
        internal = SigningKey("http://internal.example/actor#main-key", keypair("mallory")[0])
        answer = await refused(w, 401, "key_fetch_failed", key=internal,
                               activity=w.activity(actor="http://internal.example/actor"))
        assert "private address" in answer["detail"] and "10.0.0.5" in answer["detail"]
        literal = SigningKey(f"{w.peer.base}/users/alice#main-key", keypair("alice")[0])  # 127.0.0.1
        answer = await refused(w, 401, "key_fetch_failed", key=literal)
        assert "loopback" in answer["detail"]
        assert w.peer.seen == [] and resolver.lookups == ["internal.example"]


async def test_attack_key_id_redirects_to_a_private_address(config: Config) -> None:
    resolver = FakeResolver({"social.example": ["127.0.0.1"]})
    async with world(config, strict=True, resolver=resolver, allowed=("127.0.0.1/32",)) as w:
        actor = f"http://social.example:{w.peer.server.port}/users/alice"
        w.peer.serve("/users/alice", b"", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        answer = await refused(w, 401, "key_fetch_failed", key=SigningKey(f"{actor}#main-key", keypair("alice")[0]),
                               activity=w.activity(actor=actor, id=f"{actor}/statuses/1/activity", object=f"{actor}/statuses/1"))
        assert "link-local" in answer["detail"] and "169.254.169.254" in answer["detail"]
        assert [s.url for s in w.peer.seen] == [actor]  # the first hop only


async def test_attack_oversized_key_document(w: World) -> None:
    w.peer.actor("alice", keypair("alice")[1], padding="x" * (1024 * 1024))
    answer = await refused(w, 401, "key_fetch_failed")
    assert "larger than 1048576 bytes" in answer["detail"]


async def test_attack_actor_document_whose_id_does_not_match(w: World) -> None:
    w.peer.actor("alice", keypair("alice")[1], id=f"{w.peer.base}/users/bob")
    answer = await refused(w, 401, "key_fetch_failed")
    assert "is not the URL asked for" in answer["detail"]


async def test_attack_redirect_to_another_origin(w: World) -> None:
    other = await Peer.start()
    try:
        other.actor("alice", keypair("alice")[1], base=w.peer.base)  # claims to be alice on the first origin
        w.peer.serve("/users/alice", b"", status=302, headers={"Location": other.url("/users/alice")})
        answer = await refused(w, 401, "key_fetch_failed")
        assert "another origin" in answer["detail"]
    finally:
        await other.close()


async def test_attack_key_document_its_owner_does_not_list(w: World) -> None:
    private, public = keypair("mallory")
    key_id = f"{w.peer.base}/keys/fake"
    w.peer.serve("/keys/fake", {"id": key_id, "type": "CryptographicKey", "owner": w.alice, "publicKeyPem": public})
    answer = await refused(w, 401, "unknown_key", key=SigningKey(key_id, private))
    assert "does not list the key" in answer["detail"]


async def test_attack_html_instead_of_an_actor(w: World) -> None:
    w.peer.serve("/users/alice", b"<html>alice</html>", content_type="text/html")
    answer = await refused(w, 401, "key_fetch_failed")
    assert "content type" in answer["detail"]


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"not json", 400, "not_json"),
    (b"[1, 2]", 400, "not_json"),
    (b'{"type": "Create", "actor": "https://x.example/a"}', 400, "invalid_activity"),  # no id
    (b'{"id": "https://x.example/1", "type": "Create"}', 400, "invalid_activity"),  # no actor
    (b"{" + b" " * (1024 * 1024) + b"}", 413, "body_too_large"),
])
async def test_malformed_requests(w: World, body: bytes, status: int, reason: str) -> None:
    await refused(w, status, reason, activity=body, headers={"Content-Type": AS2})


async def test_an_endless_chunked_body_is_cut_at_the_cap(w: World) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 64 * 1024

    before = await row_counts()
    response = await w.client.post(INBOX, data=endless(), headers={"Content-Type": AS2})
    assert response.status == 413 and (await response.json())["error"] == "body_too_large"
    assert await row_counts() == before


async def test_an_unknown_actor_inbox_is_404(w: World) -> None:
    await refused(w, 404, "no_such_actor", path="/users/nobody/inbox")


async def test_each_rejection_is_logged_once(w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bridge.inbox")
    await refused(w, 401, "date_too_old", now=NOW - timedelta(hours=3))
    lines = [r.getMessage() for r in caplog.records if "inbox.rejected" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith(f"inbox.rejected reason=date_too_old status=401 actor={w.alice} key_id={w.key.key_id}")


@pytest.mark.usefixtures("database")
async def test_a_stored_batch_keeps_one_of_twins_and_queues_one_job_per_new_activity() -> None:
    from bridge.inbox.store import Accepted, job_of, store_batch
    from bridge.models import InboxActivity, Job

    def like(n: int, recipient: str | None = None) -> Accepted:
        activity = {"id": f"https://a.example/likes/{n}", "type": "Like", "actor": "https://a.example/users/alice",
                    "object": "https://bridge.example/users/blog/posts/1", "content": "ünïcode ✓"}
        return Accepted(activity, "https://a.example/users/alice", "https://a.example/users/alice#main-key",
                        "cavage", recipient)

    assert await store_batch([like(1, "blog"), like(1), like(2)]) == [True, False, True]
    assert await store_batch([like(2), like(3)]) == [False, True]  # already there: a duplicate
    rows = {row.activity_id: row for row in await InboxActivity.all()}
    assert sorted(rows) == [f"https://a.example/likes/{n}" for n in (1, 2, 3)]
    assert rows["https://a.example/likes/1"].recipient == "blog" and rows["https://a.example/likes/3"].body == like(3).activity
    jobs = await Job.filter(kind=ProcessInbox.KIND).order_by("id")
    assert [job.payload for job in jobs] == [
        job_of(rows[f"https://a.example/likes/{n}"].id, like(n, "blog" if n == 1 else None)).payload() for n in (1, 2, 3)]
