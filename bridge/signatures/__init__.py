"""HTTP Signatures both ways: draft-cavage-http-signatures-12 and RFC 9421 (with RFC 9530 digests).

A pure translator (cryptography only): a request description in; headers to send,
or a verdict, out. No network, no clock of its own (every caller passes `now`),
no key lookup. Verifying is two steps around the key fetch,

    candidate = inspect_signature(request, now)       # every check that needs no key
    verdict = check_signature(candidate, public_pem)  # the cryptography

and each step answers with a value or a `Rejection` naming one of the closed set
of `Reason`s, never None. Written here rather than taken from a package: no
maintained Python package does draft-cavage the way the fediverse uses it, and
both schemes must share one set of rules:

- covered parts required: cavage `(request-target) host date`, plus `digest` when
  there is a body (Mastodon app/lib/signed_request.rb; Fedify sig/http.ts
  `verifyRequestDraft`); RFC 9421 `@method @target-uri` and `created`, plus
  `content-digest` with a body (Mastodon's `HttpMessageSignature#verify_signature_strength!`).
  In any order: the signature base follows the sender's order.
- `(request-target)` includes the query string (draft-cavage-12 §2.3).
- the Date header and `created` within ±1 hour of now (Mastodon's CLOCK_SKEW_MARGIN,
  Fedify's default window); `expires`, when given, not passed.
- the body digest (`Digest: SHA-256=…`, RFC 3230; `Content-Digest`, RFC 9530) compared in
  constant time with a hash of the exact raw body.
- the `algorithm`/`alg` parameter never chooses the verification algorithm: the key does
  (RSA → RSASSA-PKCS1-v1_5 with SHA-256; Ed25519 → Ed25519). `hs2019` ("derive it from
  the key", draft-cavage-12 §2.1.3) is accepted as that; a name the key cannot honour is refused.

The code is split for size: bridge/signatures/base.py (shared types, keys, digests, time),
bridge/signatures/cavage.py, bridge/signatures/rfc9421.py. Import from here.

Object Integrity Proofs (FEP-8b32, `eddsa-jcs-2022`) sign the JSON itself rather than the
request: bridge/signatures/proofs.py (`sign_object`, `proofs_of`, `verify_proof`), over
bridge/signatures/jcs.py (RFC 8785) and bridge/signatures/multikey.py (FEP-521a keys).
"""

from __future__ import annotations

from datetime import datetime

from bridge.signatures.base import (
    WINDOW,
    Candidate,
    HttpRequest,
    Reason,
    Rejection,
    Scheme,
    SigningKey,
    Verified,
    authority_of,
    check_signature,
    content_digest_header,
    digest_header,
    http_date,
    load_public_key,
)
from bridge.signatures.cavage import inspect_cavage, parse_signature_header, sign_cavage
from bridge.signatures.multikey import MultikeyError, multikey_document, public_key_of_multikey
from bridge.signatures.proofs import Proof, ProofError, proofs_of, sign_object, verify_proof
from bridge.signatures.rfc9421 import AcceptSignature, inspect_rfc9421, parse_accept_signature, sign_rfc9421

__all__ = [
    "WINDOW", "AcceptSignature", "Candidate", "HttpRequest", "Reason", "Rejection", "Scheme", "SigningKey",
    "Verified", "authority_of", "check_signature", "content_digest_header", "digest_header", "http_date",
    "inspect_signature", "load_public_key", "parse_accept_signature", "parse_signature_header", "sign_request",
    "verify",
    # Object Integrity Proofs
    "MultikeyError", "Proof", "ProofError", "multikey_document", "proofs_of", "public_key_of_multikey",
    "sign_object", "verify_proof",
]


def inspect_signature(request: HttpRequest, now: datetime) -> Candidate | Rejection:
    """Every check that needs no key: RFC 9421 when `Signature-Input` is present, else draft-cavage."""
    if request.header("Signature-Input") is not None:
        return inspect_rfc9421(request, now)
    if request.header("Signature") is not None:
        return inspect_cavage(request, now)
    return Rejection(Reason.NO_SIGNATURE, "the request is not signed (no Signature header)")


def verify(request: HttpRequest, public_key_pem: str, now: datetime) -> Verified | Rejection:
    """Both steps, with the key already known."""
    candidate = inspect_signature(request, now)
    if isinstance(candidate, Rejection):
        return candidate
    return check_signature(candidate, public_key_pem)


def sign_request(
    request: HttpRequest,
    key: SigningKey,
    now: datetime,
    scheme: Scheme,
    *,
    challenge: AcceptSignature | None = None,
) -> dict[str, str]:
    """Every header to send: the request's own, plus Host, Date, the digest and the signature.

    `now` must be the moment of sending (a queued delivery signs when it goes out, not
    when it was queued): receivers allow one hour.
    """
    if scheme is Scheme.CAVAGE:
        return sign_cavage(request, key, now)
    return sign_rfc9421(request, key, now, challenge=challenge)
