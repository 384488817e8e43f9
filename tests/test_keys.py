"""Our keys (bridge/keys.py): rotation makes a new pair, keeps the old one inactive, queues
the actor's Update for its followers in the same transaction, and the new key is the one
that signs and the one the actor document serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge import cli, db
from bridge.app import make_app
from bridge.config import Config, load_config
from bridge.jobs.kinds import ActorUpdate
from bridge.keys import ED25519, INSTANCE_ACTOR, RSA, active_key, ensure_keys, key_id_of, rotate_keys, signing_key
from bridge.models import ActorKey, Job
from bridge.signatures import HttpRequest, Reason, Rejection, Scheme, Verified, sign_request, verify
from tests.fedi import utc

NOW = utc("2025-03-01T12:00:00")


def _signed_by(key_pem_private: str, key_id: str) -> HttpRequest:
    from bridge.signatures import SigningKey

    request = HttpRequest.of("GET", "https://social.example/users/alice", {"Accept": "application/activity+json"})
    return HttpRequest.of("GET", request.url, sign_request(request, SigningKey(key_id, key_pem_private), NOW, Scheme.CAVAGE))


async def test_rotation_replaces_the_key_and_queues_the_update(database: Config) -> None:
    base = database.server.base_url
    await ensure_keys(["blog", INSTANCE_ACTOR], algorithms=(RSA, ED25519))
    old_rsa, old_ed = await active_key("blog"), await active_key("blog", ED25519)

    made = await rotate_keys("blog")

    assert sorted(k.algorithm for k in made) == [ED25519, RSA]
    new_rsa = await active_key("blog")
    assert new_rsa.id not in (old_rsa.id, old_ed.id) and new_rsa.public_pem != old_rsa.public_pem
    assert not (await ActorKey.get(id=old_rsa.id)).active and not (await ActorKey.get(id=old_ed.id)).active
    assert await ActorKey.filter(actor="blog", active=True).count() == 2
    [job] = await Job.filter(kind=ActorUpdate.KIND)
    assert job.payload == {"actor": "blog", "reason": "key rotation"}
    # The new key signs, under the same key id; the old public key no longer verifies it.
    signer = await signing_key(base, "blog")
    assert signer.key_id == key_id_of(base, "blog") == f"{base}/users/blog#main-key"
    request = _signed_by(signer.private_pem, signer.key_id)
    assert verify(request, new_rsa.public_pem, NOW) == Verified(signer.key_id, Scheme.CAVAGE)
    old = verify(request, old_rsa.public_pem, NOW)
    assert isinstance(old, Rejection) and old.reason is Reason.BAD_SIGNATURE
    # The instance actor has no followers: a new key, no Update.
    await rotate_keys(INSTANCE_ACTOR)
    assert await Job.filter(kind=ActorUpdate.KIND).count() == 1
    assert (await signing_key(base, INSTANCE_ACTOR)).key_id == f"{base}/actor#main-key"


async def test_the_actor_document_serves_the_new_key(config: Config) -> None:
    app = make_app(config, workers=False)
    async with TestClient(TestServer(app)) as client:
        await rotate_keys("blog")
        new = await active_key("blog")
        response = await client.get("/users/blog", headers={"Accept": "application/activity+json"})
        assert response.status == 200
        document = await response.json()
        assert document["publicKey"]["id"] == "https://bridge.example/users/blog#main-key"
        assert document["publicKey"]["publicKeyPem"].strip() == new.public_pem.strip()
        assert "PRIVATE" not in await response.text()


def test_keys_rotate_on_the_command_line(write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path: Path = write_config()
    assert cli.run(["-c", str(path), "keys", "rotate", "--blog", "blog"]) == 0
    out = capsys.readouterr().out
    assert "blog: new rsa and ed25519 keys; an Update of the actor is queued for its followers" in out

    async def state() -> tuple[int, int, int]:
        await db.open_db(load_config(path, env={}).database)
        try:
            return (await ActorKey.filter(actor="blog", active=False).count(),
                    await ActorKey.filter(actor="blog", active=True).count(),
                    await Job.filter(kind=ActorUpdate.KIND).count())
        finally:
            await db.close_db()

    assert asyncio.run(state()) == (2, 2, 1)  # init's two keys retired, two new, one Update queued
    assert cli.run(["-c", str(path), "keys", "rotate"]) == 0  # every blog and the instance actor
    assert f"{INSTANCE_ACTOR}: new rsa and ed25519 keys\n" in capsys.readouterr().out
    assert cli.run(["-c", str(path), "keys", "rotate", "--blog", "nosuch"]) == 2
