"""Our actors' signing keys: made once, stored in the database, never served or logged.

Each blog actor and the instance actor has one active RSA-2048 key (what every
fediverse server verifies, on HTTP signatures) and one Ed25519 key (the FEP-8b32
integrity proofs of what we send, published as a FEP-521a Multikey). Only public halves leave this module's table, in actor documents.

Rotation (`bridge keys rotate`) makes a new pair, keeps the old one inactive (for
the record; it is never used again), and enqueues an `Update` of the actor for its
followers in the same transaction. Be aware: Mastodon treats an actor whose keys all
changed as a possibly different account and sends its Follow again
(ActivityPub::ProcessAccountService, `after_key_change!` → RefollowWorker); the
follow handling must accept a repeated Follow from an existing follower.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from tortoise.transactions import in_transaction

from bridge.core import urls
from bridge.jobs.kinds import ActorUpdate
from bridge.jobs.store import enqueue
from bridge.models import ActorKey
from bridge.signatures import SigningKey

log = logging.getLogger("bridge.keys")

# The application actor (FEP-2677) that signs requests not made for one blog.
# '@' cannot appear in a blog name, so it never collides with one.
INSTANCE_ACTOR = "@instance"
RSA_BITS = 2048  # what every fediverse server verifies; larger keys slow every delivery
RSA, ED25519 = "rsa", "ed25519"


def _pems(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> tuple[str, str]:
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return private_pem, public_pem


def new_rsa_pair() -> tuple[str, str]:
    """A fresh RSA-2048 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS))


def new_ed25519_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair, in the same PEM forms."""
    return _pems(ed25519.Ed25519PrivateKey.generate())


async def _new_pair(algorithm: str) -> tuple[str, str]:
    if algorithm == RSA:
        return await asyncio.to_thread(new_rsa_pair)  # ~100 ms of CPU
    if algorithm == ED25519:
        return new_ed25519_pair()
    raise ValueError(f"unknown key algorithm {algorithm!r}")


async def ensure_keys(actors: Iterable[str], algorithms: Iterable[str] = (RSA, ED25519)) -> list[str]:
    """Make a key pair of each algorithm for each actor that has no active one; return those actors.
    Every actor has both: RSA signs requests, Ed25519 the integrity proofs of what we send."""
    made: list[str] = []
    wanted = tuple(algorithms)
    for actor in actors:
        for algorithm in wanted:
            if await ActorKey.exists(actor=actor, algorithm=algorithm, active=True):
                continue
            private_pem, public_pem = await _new_pair(algorithm)
            await ActorKey.create(actor=actor, algorithm=algorithm, private_pem=private_pem, public_pem=public_pem)
            log.info("keys.created actor=%s algorithm=%s", actor, algorithm)
            if actor not in made:
                made.append(actor)
    return made


def actor_uri(base_url: str, actor: str) -> str:
    """The AS2 id of one of our actors (a blog name, or INSTANCE_ACTOR)."""
    return urls.instance_actor_id(base_url) if actor == INSTANCE_ACTOR else urls.actor_id(base_url, actor)


def key_id_of(base_url: str, actor: str, algorithm: str = RSA) -> str:
    """The id under which an actor's key is published and signs."""
    uri = actor_uri(base_url, actor)
    return urls.key_id(uri, ed25519=algorithm == ED25519)


class NoKey(Exception):
    """The actor has no active key of that algorithm (run `bridge migrate` or `bridge init`)."""

    def __init__(self, actor: str, algorithm: str) -> None:
        super().__init__(f"no active {algorithm} key for {actor}")
        self.actor = actor
        self.algorithm = algorithm


async def active_key(actor: str, algorithm: str = RSA) -> ActorKey:
    """The newest active key of one of our actors. Raises NoKey."""
    key = await ActorKey.filter(actor=actor, algorithm=algorithm, active=True).order_by("-id").first()
    if key is None:
        raise NoKey(actor, algorithm)
    return key


async def signing_key(base_url: str, actor: str, algorithm: str = RSA) -> SigningKey:
    """What signs the actor's requests: its active key under its published key id."""
    key = await active_key(actor, algorithm)
    return SigningKey(key_id_of(base_url, actor, algorithm), key.private_pem)


async def rotate_keys(actor: str, *, announce: bool = True) -> list[ActorKey]:
    """Replace every active key of `actor` (at least its RSA key) with a new pair.

    In one transaction: the old keys become inactive, the new ones are stored, and
    (for a blog, when `announce`) a `deliver.actor_update` job is enqueued so the
    followers get an `Update` with the new public key.
    """
    algorithms = {key.algorithm for key in await ActorKey.filter(actor=actor, active=True)} | {RSA}
    pairs = {algorithm: await _new_pair(algorithm) for algorithm in sorted(algorithms)}
    async with in_transaction() as conn:
        retired = await ActorKey.filter(actor=actor, active=True).using_db(conn).update(active=False)
        made = [
            await ActorKey.create(actor=actor, algorithm=algorithm, private_pem=private_pem,
                                  public_pem=public_pem, using_db=conn)
            for algorithm, (private_pem, public_pem) in pairs.items()
        ]
        if announce and actor != INSTANCE_ACTOR:
            await enqueue(ActorUpdate(actor, "key rotation"), using_db=conn)
    log.info("keys.rotated actor=%s algorithms=%s retired=%d announced=%s",
             actor, ",".join(sorted(pairs)), retired, announce and actor != INSTANCE_ACTOR)
    return made
