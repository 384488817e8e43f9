"""What both HTTP signature schemes share: requests, verdicts, reasons, keys, digests, time.

Pure (cryptography only). bridge/signatures/__init__.py is the API and states the rules with
their sources; bridge/signatures/cavage.py and bridge/signatures/rfc9421.py build on this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from bridge.signatures import sfv

WINDOW = timedelta(hours=1)  # Mastodon and Fedify both allow one hour of clock skew
MIN_RSA_BITS, MAX_RSA_BITS = 2048, 8192  # below: forgeable; above: a CPU sink per request


class Scheme(StrEnum):
    CAVAGE = "cavage"  # draft-cavage-http-signatures-12: what the fediverse speaks today
    RFC9421 = "rfc9421"  # HTTP Message Signatures


class Reason(StrEnum):
    """Why an inbox refused a request: the closed set every rejection names one of."""

    NO_SIGNATURE = "no_signature"
    MALFORMED_SIGNATURE = "malformed_signature"  # unparseable header or parameter (400)
    UNSUPPORTED_SIGNATURE = "unsupported_signature"  # well-formed, but outside what we verify
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNSIGNED_COMPONENT = "unsigned_component"  # a required part is not among the covered ones
    DIGEST_MISSING = "digest_missing"
    DIGEST_MISMATCH = "digest_mismatch"
    DATE_MISSING = "date_missing"
    DATE_TOO_OLD = "date_too_old"
    DATE_TOO_NEW = "date_too_new"
    SIGNATURE_EXPIRED = "signature_expired"
    UNKNOWN_KEY = "unknown_key"  # the keyId names no key that exists
    KEY_FETCH_FAILED = "key_fetch_failed"  # the key could not be fetched safely
    BAD_SIGNATURE = "bad_signature"  # forged, or something signed was changed
    SIGNER_NOT_ACTOR = "signer_not_actor"  # authenticated, but not as the activity's actor
    FOREIGN_ID = "foreign_id"  # an id the actor may not create or change
    BAD_PROOF = "bad_proof"  # an integrity proof (FEP-8b32) that does not verify, or not by the actor's key
    # Inbox request problems (no signature question yet):
    BODY_TOO_LARGE = "body_too_large"
    NOT_JSON = "not_json"
    INVALID_ACTIVITY = "invalid_activity"
    NO_SUCH_ACTOR = "no_such_actor"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"


_STATUS = {
    Reason.MALFORMED_SIGNATURE: 400,
    Reason.NOT_JSON: 400,
    Reason.INVALID_ACTIVITY: 400,
    Reason.BODY_TOO_LARGE: 413,
    Reason.NO_SUCH_ACTOR: 404,
    Reason.UNSUPPORTED_MEDIA_TYPE: 415,
}


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    message: str
    key_id: str | None = None

    @property
    def status(self) -> int:
        return _STATUS.get(self.reason, 401)


@dataclass(frozen=True, slots=True)
class Verified:
    key_id: str
    scheme: Scheme


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as its signer addressed it: `url` is absolute (scheme, authority, raw path, query)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None  # None: no body (GET); b"" is an empty body

    @classmethod
    def of(cls, method: str, url: str, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
           body: bytes | None = None) -> HttpRequest:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(method.upper(), url, tuple((str(k), str(v)) for k, v in pairs), body)

    def header(self, name: str) -> str | None:
        """All values of a header, each trimmed, joined with ', ' (draft-cavage-12 §2.3, RFC 9421 §2.1)."""
        values = [v.strip() for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def target(self) -> str:
        """The raw path and query, as on the request line."""
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def authority(self) -> str:
        return authority_of(self.url)


def authority_of(url: str) -> str:
    """host[:port], lower-cased, the default port left out (RFC 9421 §2.2.3), as a Host header says it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A signature that passed every check needing no key: what remains is the cryptography."""

    scheme: Scheme
    key_id: str
    base: bytes  # the signature base: exactly the bytes the signer signed
    signature: bytes
    algorithm: str | None  # as declared by the sender; checked against the key, never trusted


# -- keys -------------------------------------------------------------------------------

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@lru_cache(maxsize=512)
def load_public_key(pem: str) -> PublicKey:
    """Parse a SubjectPublicKeyInfo (or PKCS#1 RSA) PEM; ValueError if unusable."""
    data = pem.strip().encode("ascii", "replace")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, binascii.Error, NotImplementedError):
        raise ValueError("not a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise ValueError(f"unsupported key type {type(key).__name__}")


_loading = threading.Lock()


def load_private_key(pem: str) -> PrivateKey:
    """The key object of `pem`, parsed and checked once per process: `cryptography` checks
    an RSA key as it loads it (~35 ms for 2048 bits), and signing threads that all missed
    the cache at once would each do it (the lock makes the others wait for the first)."""
    with _loading:
        return _load_private_key(pem)


@lru_cache(maxsize=64)
def _load_private_key(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One of our keys: `key_id` is the actor's `publicKey.id`."""

    key_id: str
    private_pem: str

    @property
    def private_key(self) -> PrivateKey:
        return load_private_key(self.private_pem)

    @property
    def rfc9421_alg(self) -> str:
        return "ed25519" if isinstance(self.private_key, ed25519.Ed25519PrivateKey) else "rsa-v1_5-sha256"

    def sign(self, data: bytes) -> bytes:
        key = self.private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify_bytes(key: PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# Which declared algorithm names each key type can honour (None: not declared).
CAVAGE_ALGORITHMS = {"rsa-sha256": rsa.RSAPublicKey, "hs2019": None}
RFC9421_ALGORITHMS = {"rsa-v1_5-sha256": rsa.RSAPublicKey, "ed25519": ed25519.Ed25519PublicKey}


def check_signature(candidate: Candidate, public_key_pem: str) -> Verified | Rejection:
    """Verify the candidate's signature with the key; the key, not the sender, picks the algorithm."""
    try:
        key = load_public_key(public_key_pem)
    except ValueError as exc:
        return Rejection(Reason.UNKNOWN_KEY, f"the key {candidate.key_id} is unusable: {exc}", candidate.key_id)
    declared = (candidate.algorithm or "").lower() or None
    table = CAVAGE_ALGORITHMS if candidate.scheme is Scheme.CAVAGE else RFC9421_ALGORITHMS
    wanted = table.get(declared) if declared else None
    if wanted is not None and not isinstance(key, wanted):
        return Rejection(Reason.UNSUPPORTED_ALGORITHM,
                         f"algorithm {declared} does not fit the key {candidate.key_id}", candidate.key_id)
    if not verify_bytes(key, candidate.signature, candidate.base):
        return Rejection(Reason.BAD_SIGNATURE, "the signature does not match the request", candidate.key_id)
    return Verified(candidate.key_id, candidate.scheme)


# -- digests ----------------------------------------------------------------------------


@lru_cache(maxsize=32)  # a fan-out sends one body to every inbox: hashed once (bytes cache their hash)
def digest_header(body: bytes) -> str:
    """RFC 3230 `Digest`, as Mastodon sends and checks it."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


@lru_cache(maxsize=32)
def content_digest_header(body: bytes) -> str:
    """RFC 9530 `Content-Digest`."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def check_digest(value: str, body: bytes) -> Rejection | None:
    """RFC 3230: the SHA-256 entry must be there and match (other algorithms are ignored)."""
    for entry in value.split(","):
        algorithm, _, encoded = entry.strip().partition("=")
        if algorithm.strip().lower() != "sha-256":
            continue
        try:
            claimed = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return Rejection(Reason.MALFORMED_SIGNATURE, "the Digest value is not base64")
        if not hmac.compare_digest(claimed, hashlib.sha256(body).digest()):
            return Rejection(Reason.DIGEST_MISMATCH, "the body does not match its Digest")
        return None
    return Rejection(Reason.DIGEST_MISSING, "no SHA-256 entry in the Digest header")


_CONTENT_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def check_content_digest(value: str, body: bytes) -> Rejection | None:
    """RFC 9530: every known algorithm given must match, and at least one must be given."""
    try:
        entries = sfv.parse_dictionary(value)
    except sfv.SFError as exc:
        return Rejection(Reason.MALFORMED_SIGNATURE, f"Content-Digest: {exc}")
    known = 0
    for algorithm, member in entries.items():
        if algorithm not in _CONTENT_DIGESTS:
            continue
        if not isinstance(member, sfv.Item) or not isinstance(member.value, bytes):
            return Rejection(Reason.MALFORMED_SIGNATURE, f"Content-Digest {algorithm} is not a byte sequence")
        if not hmac.compare_digest(member.value, _CONTENT_DIGESTS[algorithm](body).digest()):
            return Rejection(Reason.DIGEST_MISMATCH, "the body does not match its Content-Digest")
        known += 1
    if not known:
        return Rejection(Reason.DIGEST_MISSING, "no sha-256 or sha-512 entry in Content-Digest")
    return None


# -- time -------------------------------------------------------------------------------


def http_date(now: datetime) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for the Date header."""
    return format_datetime(now.astimezone(UTC), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    """An HTTP Date header as an aware UTC datetime, or None if it is not a date."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def check_time(when: datetime, now: datetime, what: str) -> Rejection | None:
    if when < now - WINDOW:
        return Rejection(Reason.DATE_TOO_OLD, f"{what} {when.isoformat()} is more than an hour old")
    if when > now + WINDOW:
        return Rejection(Reason.DATE_TOO_NEW, f"{what} {when.isoformat()} is more than an hour ahead")
    return None


def from_timestamp(seconds: int) -> datetime | None:
    """A Unix time as an aware datetime, or None when out of any sensible range."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def check_expires(expires: int | None, now: datetime) -> Rejection | None:
    if expires is None:
        return None
    when = from_timestamp(expires)
    if when is None:
        return Rejection(Reason.MALFORMED_SIGNATURE, "expires is out of range")
    if when < now:
        return Rejection(Reason.SIGNATURE_EXPIRED, "the signature has expired")
    return None


def replace_headers(headers: Iterable[tuple[str, str]], updates: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """`headers` with each name in `updates` (any case) replaced by the new value, added last."""
    names = {name.lower() for name in updates}
    kept = [(k, v) for k, v in headers if k.lower() not in names]
    return tuple(kept) + tuple(updates.items())


def base_bytes(lines: Iterable[str]) -> bytes:
    """The signature base as bytes. Header values arrive as aiohttp decodes them (UTF-8 with
    surrogate escapes), so this gives back the bytes that were on the wire."""
    return "\n".join(lines).encode("utf-8", "surrogateescape")
