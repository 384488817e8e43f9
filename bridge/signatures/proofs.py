"""Object Integrity Proofs (FEP-8b32): `eddsa-jcs-2022` Data Integrity proofs with Ed25519.

An HTTP signature proves who *delivered* a request; a proof inside the JSON proves who
*wrote* the object, and travels with it. That matters for what is forwarded: an activity
relayed by someone other than its actor (inbox forwarding, a relay, a fetched copy of a
reply) may be trusted as the actor's only with a verified proof by a key the actor controls;
otherwise the relayer could have written it.

The cryptosuite is W3C "Data Integrity EdDSA Cryptosuites v1.0" §3.3 (`eddsa-jcs-2022`), as
FEP-8b32 profiles it:

    proof options   {type: DataIntegrityProof, cryptosuite: eddsa-jcs-2022,
                     verificationMethod, proofPurpose: assertionMethod, created}
    proof config    the options, plus the document's @context when it has one (§3.3.5)
    hash data       sha256(JCS(proof config)) + sha256(JCS(document without `proof`)) (§3.3.4)
    proofValue      "z" + base58btc(Ed25519 signature of the hash data) (§3.3.1)

JCS is RFC 8785 (bridge/signatures/jcs.py), so the proof covers the JSON exactly as sent:
no JSON-LD processing on either side, and a changed byte of meaning (a field, an escape, a
member moved into another object) breaks it. Verifying takes the proof as received, every
member but `proofValue` (§3.3.2), so an extra member (`expires`, `id`) is covered too.

A document that already has proofs keeps them and gains one more (a proof set, Data
Integrity §2.1.2): every proof covers the document without any `proof`.

**What Fedify (2.3.6, the verifier we test against) needs from our documents.** Fedify's
inbox verifies proofs with `verifyObject`, which reads the activity as JSON-LD: the proof is
found only if the document's `@context` defines `proof` and `DataIntegrityProof`, that is if
it includes "https://w3id.org/security/data-integrity/v1" (the ActivityStreams context does
not define them, nor does security/v1). So what we sign carries

    "@context": ["https://www.w3.org/ns/activitystreams",
                 "https://w3id.org/security/data-integrity/v1", {…our inline terms…}]

Every context URL must be one Fedify preloads (these two are) or Fedify fetches it; inline
objects are fine. Then every proof must verify and every `actor` and `attributedTo` of the
activity must be the `controller` of some proof's key (a Multikey fetched at
`verificationMethod`, bridge/signatures/multikey.py); else Fedify ignores the proofs and falls
back on the HTTP signature. The hashing itself uses the JSON as received (JCS), like ours:
no compaction or expansion there. Fedify's outbox signs its own compaction of an activity
(its long @context, an @context inside the proof, `created` in nanoseconds), which verifies
here as it arrives. tests/test_proofs.py checks the context and controller rules and both
directions against Fedify. Proofs made without @context in
the proof config, as before vc-di-eddsa 1.0 (fep-8b32.feature's vector, older Mitra and
Fedify), verify with neither Fedify 2.3.6 nor us.

Pure: a document and a key in, a signed copy or a verdict out. Fetching the key named by
`verificationMethod`, and checking that its controller is the activity's actor, is the
caller's (authenticate, then authorise). Verdicts are `ProofError(reason)`, never a None.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from bridge.signatures.base import load_private_key, load_public_key
from bridge.signatures.jcs import canonical
from bridge.signatures.multikey import (
    MultikeyError,
    decode_multibase,
    encode_multibase,
    public_key_from_multibase,
)

__all__ = [
    "CRYPTOSUITE", "PROOF_PURPOSE", "PROOF_TYPE", "Proof", "ProofError", "proofs_of", "sign_object",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"  # FEP-8b32: what a proof on an activity or object asserts
_STRING_FIELDS = ("type", "cryptosuite", "verificationMethod", "proofPurpose", "created", "proofValue")
# XML Schema 1.1 dateTime (XMLSCHEMA11-2 §3.3.7), which `created` must be (§3.3.5), for years
# 0001-9999. Fedify writes nanoseconds ("2026-01-02T03:04:05.123456789Z"): any number of
# fraction digits.
_XSD_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-](\d\d):(\d\d))?", re.ASCII)


class ProofError(Exception):
    """A proof we cannot accept, and why: `reason` is one sentence for logs and tests."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Proof:
    """One proof of a document, as received. `problem` is why it cannot be verified at all
    (unsupported, malformed), None when only the signature check is left."""

    options: dict[str, Any]  # every member but proofValue: what the signature covers (§3.3.2)
    signature: bytes | None  # proofValue decoded
    problem: str | None = None
    supported: bool = False  # DataIntegrityProof with eddsa-jcs-2022: ours to verify

    @property
    def type(self) -> object:
        return self.options.get("type")

    @property
    def cryptosuite(self) -> object:
        return self.options.get("cryptosuite")

    @property
    def verification_method(self) -> str | None:
        """The key's id: the caller fetches it (a Multikey) and checks its controller."""
        value = self.options.get("verificationMethod")
        return value if isinstance(value, str) else None

    @property
    def created(self) -> str | None:
        value = self.options.get("created")
        return value if isinstance(value, str) else None


def sign_object(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey | str,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """A copy of `document` with an `eddsa-jcs-2022` proof added, made with an Ed25519 key
    (the key object or its PKCS#8 PEM) whose Multikey is at `verification_method`.

    `created` is the moment of signing, written to the second in UTC ("…T12:00:00Z"): a
    parameter, so tests pin it. ValueError for a naive datetime; TypeError for a key that is
    not Ed25519; TypeError or ValueError for a document that is not JSON.
    """
    if not isinstance(document, Mapping):
        raise TypeError(f"a proof signs a JSON object, not {type(document).__name__}")
    if not verification_method:
        raise ValueError("verification_method is the key's id and cannot be empty")
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be an aware datetime")
    key = _private_key(private_key)
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
        "created": xsd_datetime(created),
    }
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    signature = key.sign(_hash_data(unsecured, options))
    proof = {**options, "proofValue": encode_multibase(signature)}
    signed = copy.deepcopy(dict(document))
    existing = signed.get("proof")
    if existing is None:
        signed["proof"] = proof
    else:
        signed["proof"] = [*(existing if isinstance(existing, list) else [existing]), proof]
    return signed


def proofs_of(document: Mapping[str, Any]) -> list[Proof]:
    """Every proof of `document` (none, one object, or a list), each parsed: a proof of
    another type or cryptosuite is listed with `supported` False and its problem named, so a
    caller can tell "no proof" from "a proof we do not speak"."""
    found = document.get("proof") if isinstance(document, Mapping) else None
    if found is None:
        return []
    entries = found if isinstance(found, list) else [found]
    return [_parse(entry) for entry in entries]


def verify_proof(
    document: Mapping[str, Any],
    proof: Proof,
    public_key: ed25519.Ed25519PublicKey | str,
) -> None:
    """Return if `proof` (one of `proofs_of(document)`) was made over `document` by the
    private half of `public_key` (the key object, its `publicKeyMultibase`, or its PEM);
    raise ProofError with the reason otherwise.

    The key must be the one `proof.verification_method` names, fetched by the caller.
    """
    if not isinstance(document, Mapping):
        raise ProofError("the document is not a JSON object")
    if proof.problem is not None:
        raise ProofError(proof.problem)
    assert proof.signature is not None  # no problem: parsed
    key = _public_key(public_key)
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    if "@context" in proof.options:
        # §3.3.2 step 4: a proof that carries its own @context (Fedify's do) must agree with
        # the document's, and its @context is then the one both hashes use.
        if not _starts_with(_as_list(document.get("@context")), _as_list(proof.options["@context"])):
            raise ProofError("the proof's @context does not match the document's")
        unsecured["@context"] = proof.options["@context"]
    try:
        hash_data = _hash_data(unsecured, proof.options)
    except (TypeError, ValueError) as exc:
        raise ProofError(f"the document is not canonical JSON: {exc}") from None
    try:
        key.verify(proof.signature, hash_data)
    except InvalidSignature:
        raise ProofError("the proof does not match the document") from None


def xsd_datetime(moment: datetime) -> str:
    """An aware datetime as the XML Schema dateTime FEP-8b32 shows: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """§3.3.4: the proof config's hash, then the document's (64 bytes, what Ed25519 signs)."""
    config = {name: value for name, value in options.items() if name != "proofValue"}
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]  # §3.3.5 step 6
    return hashlib.sha256(canonical(config)).digest() + hashlib.sha256(canonical(unsecured)).digest()


def _parse(entry: object) -> Proof:
    """A Proof, with the first reason it cannot be verified (if any)."""
    if not isinstance(entry, Mapping):
        return Proof(options={}, signature=None, problem="the proof is not a JSON object")
    options = {name: value for name, value in entry.items() if name != "proofValue"}
    supported = entry.get("type") == PROOF_TYPE and entry.get("cryptosuite") == CRYPTOSUITE
    for name in _STRING_FIELDS:
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            return Proof(options, None, f"malformed proof: {name} must be a string", supported)
    if entry.get("type") != PROOF_TYPE:
        return Proof(options, None, f"unsupported proof type {entry.get('type')!r}")
    if entry.get("cryptosuite") != CRYPTOSUITE:
        return Proof(options, None, f"unsupported cryptosuite {entry.get('cryptosuite')!r}")
    if not entry.get("verificationMethod"):
        return Proof(options, None, "the proof has no verificationMethod", supported)
    if entry.get("proofPurpose") != PROOF_PURPOSE:
        return Proof(options, None, "proofPurpose must be assertionMethod", supported)
    created = entry.get("created")
    if created is not None and not _is_xsd_datetime(created):
        return Proof(options, None, f"created is not an XML Schema dateTime: {created!r}", supported)
    value = entry.get("proofValue")
    if value is None:
        return Proof(options, None, "the proof has no proofValue", supported)
    try:
        signature = decode_multibase(value)
    except MultikeyError as exc:
        return Proof(options, None, f"malformed proofValue: {exc}", supported)
    if len(signature) != 64:
        return Proof(options, None, f"malformed proofValue: an Ed25519 signature has 64 bytes, not {len(signature)}",
                     supported)
    return Proof(options, signature, None, supported)


def _is_xsd_datetime(text: str) -> bool:
    match = _XSD_DATETIME.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(index)) for index in range(1, 7))
    if match.group(7) is not None and (int(match.group(7)) > 14 or int(match.group(8)) > 59):
        return False  # offsets run from -14:00 to +14:00
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:  # year 0000, month 13, 30 February, 25:00…
        return False
    return True


def _starts_with(whole: list[Any], prefix: list[Any]) -> bool:
    return len(prefix) <= len(whole) and canonical(whole[: len(prefix)]) == canonical(prefix)


def _as_list(context: object) -> list[Any]:
    if context is None:
        return []
    return list(context) if isinstance(context, Sequence) and not isinstance(context, str) else [context]


def _private_key(value: ed25519.Ed25519PrivateKey | str) -> ed25519.Ed25519PrivateKey:
    key = load_private_key(value) if isinstance(value, str) else value
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise TypeError(f"eddsa-jcs-2022 signs with an Ed25519 key, not {type(key).__name__}")
    return key


def _public_key(value: ed25519.Ed25519PublicKey | str) -> ed25519.Ed25519PublicKey:
    """The key object of a key, a publicKeyMultibase or a PEM; ProofError if not Ed25519."""
    if isinstance(value, ed25519.Ed25519PublicKey):
        return value
    try:
        key = public_key_from_multibase(value) if value.startswith("z") else load_public_key(value)
    except ValueError as exc:
        raise ProofError(f"the key is unusable: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ProofError(f"eddsa-jcs-2022 needs an Ed25519 key, not {type(key).__name__}")
    return key
