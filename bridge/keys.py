"""Our actors' signing keys: made once, stored in the database, never served or logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .models import ActorKey

log = logging.getLogger("bridge.keys")

# The application actor (FEP-2677) that signs requests not made for one blog.
# '@' cannot appear in a blog name, so it never collides with one.
INSTANCE_ACTOR = "@instance"
RSA_BITS = 2048  # what every fediverse server verifies; larger keys slow every delivery


def new_rsa_pair() -> tuple[str, str]:
    """A fresh RSA-2048 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return private_pem, public_pem


async def ensure_keys(actors: Iterable[str]) -> list[str]:
    """Make an RSA key pair for each actor that has no active one; return those actors."""
    made: list[str] = []
    for actor in actors:
        if await ActorKey.exists(actor=actor, algorithm="rsa", active=True):
            continue
        private_pem, public_pem = await asyncio.to_thread(new_rsa_pair)  # ~100 ms of CPU
        await ActorKey.create(actor=actor, algorithm="rsa", private_pem=private_pem, public_pem=public_pem)
        log.info("keys.created actor=%s algorithm=rsa bits=%d", actor, RSA_BITS)
        made.append(actor)
    return made
