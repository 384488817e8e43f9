"""Ed25519 public keys as FEP-521a Multikeys: base58btc, multibase, multicodec.

An actor that signs Object Integrity Proofs (bridge/signatures/proofs.py) publishes its
Ed25519 key in `assertionMethod` as a Multikey (FEP-521a; W3C Controlled Identifiers v1.0
§2.2.2 "Multikey"):

    {"id": "https://blog.example/users/blog#ed25519-key", "type": "Multikey",
     "controller": "https://blog.example/users/blog", "publicKeyMultibase": "z6Mk…"}

`publicKeyMultibase` is the multibase prefix `z` (base58btc, the Bitcoin alphabet) over the
multicodec varint 0xed 0x01 (ed25519-pub) and the 32 raw key bytes: "z6Mk" starts every one.
Written here rather than taken from a package: base58btc is forty lines, and the pure package
allows only `cryptography`. Bad input raises `MultikeyError` (a ValueError) saying what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bridge.signatures.base import load_public_key

__all__ = [
    "ED25519_PUB", "MultikeyError", "decode_base58btc", "decode_multibase", "encode_base58btc",
    "encode_multibase", "multibase_from_pem", "multibase_of", "multikey_document", "pem_from_multibase",
    "public_key_from_multibase", "public_key_of_multikey",
]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # base58btc (Bitcoin's)
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
BASE58BTC = "z"  # the multibase prefix of base58btc
ED25519_PUB = b"\xed\x01"  # multicodec 0xed (ed25519-pub) as an unsigned varint
# Decoding base58 costs time quadratic in its length; keys are 48 characters and Ed25519
# signatures 88, so anything much longer is refused before the arithmetic.
MAX_BASE58 = 1024


class MultikeyError(ValueError):
    """A multibase string or Multikey document that is not an Ed25519 public key we can use."""


def encode_base58btc(data: bytes) -> str:
    """base58btc: each leading zero byte is a leading "1", the rest a big number in base 58."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def decode_base58btc(text: str) -> bytes:
    """The bytes of a base58btc string; MultikeyError for a character outside the alphabet
    (0, O, I and l are not in it) or an unreasonable length."""
    if len(text) > MAX_BASE58:
        raise MultikeyError(f"base58btc string of {len(text)} characters (at most {MAX_BASE58})")
    number = 0
    for position, char in enumerate(text):
        value = _INDEX.get(char)
        if value is None:
            raise MultikeyError(f"{char!r} at position {position} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_multibase(data: bytes) -> str:
    """Multibase base58btc: "z" and the base58btc of `data`."""
    return BASE58BTC + encode_base58btc(data)


def decode_multibase(text: str) -> bytes:
    """The bytes of a multibase string. Only base58btc ("z") is accepted: it is what both
    Multikey (for Ed25519) and `eddsa-jcs-2022`'s proofValue require."""
    if not isinstance(text, str) or not text:
        raise MultikeyError("not a multibase string: empty or not a string")
    if text[0] != BASE58BTC:
        raise MultikeyError(f"multibase prefix {text[0]!r} is not 'z' (base58btc), the only one accepted")
    return decode_base58btc(text[1:])


def multibase_of(public_key: ed25519.Ed25519PublicKey) -> str:
    """The `publicKeyMultibase` of an Ed25519 public key ("z6Mk…")."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return encode_multibase(ED25519_PUB + raw)


def public_key_from_multibase(text: str) -> ed25519.Ed25519PublicKey:
    """The Ed25519 public key of a `publicKeyMultibase`; MultikeyError if it is another kind
    of key (an RSA Multikey starts with another multicodec) or the wrong length."""
    data = decode_multibase(text)
    if data[:2] != ED25519_PUB:
        raise MultikeyError(f"multicodec prefix 0x{data[:2].hex()} is not ed25519-pub (0xed01)")
    raw = data[2:]
    if len(raw) != 32:
        raise MultikeyError(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def multibase_from_pem(pem: str) -> str:
    """The `publicKeyMultibase` of an Ed25519 public key given as a SubjectPublicKeyInfo PEM."""
    try:
        key = load_public_key(pem)
    except ValueError as exc:
        raise MultikeyError(f"not a usable public key PEM: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise MultikeyError(f"a Multikey here is Ed25519, this PEM holds {type(key).__name__}")
    return multibase_of(key)


def pem_from_multibase(text: str) -> str:
    """The SubjectPublicKeyInfo PEM of a `publicKeyMultibase` (what bridge/signatures/base.py loads)."""
    key = public_key_from_multibase(text)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def multikey_document(key_id: str, controller: str, public_key: ed25519.Ed25519PublicKey | str) -> dict[str, str]:
    """The FEP-521a object for an actor's `assertionMethod`, from a key or its public PEM.

    No `@context` of its own: it is embedded in an actor whose `@context` must then define
    Multikey's terms: "https://w3id.org/security/multikey/v1" does (data-integrity/v1 defines
    `assertionMethod` but not `Multikey`); served alone, give it that context.
    """
    multibase = multibase_from_pem(public_key) if isinstance(public_key, str) else multibase_of(public_key)
    return {"id": key_id, "type": "Multikey", "controller": controller, "publicKeyMultibase": multibase}


def public_key_of_multikey(document: Mapping[str, Any]) -> ed25519.Ed25519PublicKey:
    """The key of a Multikey object (as found in a remote actor's `assertionMethod`);
    MultikeyError if it is not a Multikey or holds no usable Ed25519 key. Whether its
    `controller` is the actor it claims to speak for is the caller's question."""
    if not isinstance(document, Mapping):
        raise MultikeyError("a Multikey is a JSON object")
    kind = document.get("type")
    if kind != "Multikey" and not (isinstance(kind, list) and "Multikey" in kind):
        raise MultikeyError(f"type {kind!r} is not Multikey")
    multibase = document.get("publicKeyMultibase")
    if not isinstance(multibase, str):
        raise MultikeyError("the Multikey has no publicKeyMultibase string")
    return public_key_from_multibase(multibase)
