"""draft-cavage-http-signatures-12, the way the fediverse uses it: sign and inspect.

Pure. The rules (required headers, window, digest, algorithm) are stated with their
sources in bridge/signatures/__init__.py.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ed25519

from bridge.core.textguard import ascii_digits
from bridge.signatures.base import (
    CAVAGE_ALGORITHMS,
    Candidate,
    HttpRequest,
    Reason,
    Rejection,
    Scheme,
    SigningKey,
    base_bytes,
    check_digest,
    check_expires,
    check_time,
    digest_header,
    from_timestamp,
    http_date,
    parse_http_date,
    replace_headers,
)

REQUEST_TARGET = "(request-target)"
REQUIRED = (REQUEST_TARGET, "host", "date")  # and "digest" when there is a body
# One `name="quoted string"` or `name=123` parameter, then a comma or the end.
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([0-9]+))\s*(?:,|$)')


def parse_signature_header(value: str) -> dict[str, str]:
    """The parameters of a draft-cavage `Signature` header, names lower-cased. ValueError if malformed.

    Quoted values may contain commas and escaped quotes; a parameter given twice is
    an error rather than a silent choice between two values.
    """
    params: dict[str, str] = {}
    text = value.strip()
    pos = 0
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if not match:
            raise ValueError(f"cannot parse the parameters at character {pos}")
        name = match.group(1).lower()
        if name in params:
            raise ValueError(f"parameter {name} given twice")
        quoted = match.group(2)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        pos = match.end()
    return params


def _line(request: HttpRequest, name: str, params: dict[str, str]) -> str | Rejection:
    if name == REQUEST_TARGET:
        # With the query string (draft-cavage-12 §2.3); Fedify 2.3 leaves it out when it
        # signs, Mastodon since 4.x keeps it. We require it: a signed GET is bound to its query.
        return f"{name}: {request.method.lower()} {request.target}"
    if name in ("(created)", "(expires)"):
        value = params.get(name[1:-1])
        if value is None:
            return Rejection(Reason.MALFORMED_SIGNATURE, f"{name} is signed but the parameter is missing")
        return f"{name}: {value}"
    if name.startswith("("):
        return Rejection(Reason.UNSUPPORTED_SIGNATURE, f"unknown pseudo-header {name}")
    header = request.header(name)
    if header is None:
        return Rejection(Reason.MALFORMED_SIGNATURE, f"the signed header {name} is not in the request")
    return f"{name}: {header}"


def inspect_cavage(request: HttpRequest, now: datetime) -> Candidate | Rejection:
    """Every draft-cavage check that needs no key, in the order a reader expects."""
    try:
        params = parse_signature_header(request.header("Signature") or "")
    except ValueError as exc:
        return Rejection(Reason.MALFORMED_SIGNATURE, f"Signature header: {exc}")
    key_id, encoded = params.get("keyid"), params.get("signature")
    if not key_id or not encoded:
        return Rejection(Reason.MALFORMED_SIGNATURE, "the Signature header needs keyId and signature")

    def reject(reason: Reason, message: str) -> Rejection:
        return Rejection(reason, message, key_id)

    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return reject(Reason.MALFORMED_SIGNATURE, "the signature is not base64")
    algorithm = params.get("algorithm")
    if algorithm is not None and algorithm.lower() not in CAVAGE_ALGORITHMS:
        return reject(Reason.UNSUPPORTED_ALGORITHM, f"algorithm {algorithm} (rsa-sha256 or hs2019 expected)")
    # draft-cavage-12 §2.1.6: without `headers`, only (created) is signed, which is not enough.
    covered = params.get("headers", "(created)").lower().split()
    if len(set(covered)) != len(covered):
        return reject(Reason.MALFORMED_SIGNATURE, "a header is listed twice in headers")
    date_value = request.header("Date")
    if date_value is None:
        return reject(Reason.DATE_MISSING, "no Date header")
    date = parse_http_date(date_value)
    if date is None:
        return reject(Reason.MALFORMED_SIGNATURE, f"Date {date_value!r} is not an HTTP date")
    for part in REQUIRED:
        if part not in covered:
            return reject(Reason.UNSIGNED_COMPONENT, f"{part} is not among the signed headers")
    if request.body is not None:
        digest = request.header("Digest")
        if digest is None:
            return reject(Reason.DIGEST_MISSING, "a request with a body needs a Digest header")
        if "digest" not in covered:
            return reject(Reason.UNSIGNED_COMPONENT, "digest is not among the signed headers")
        if problem := check_digest(digest, request.body):
            return reject(problem.reason, problem.message)
    if problem := check_time(date, now, "Date"):
        return reject(problem.reason, problem.message)
    for name in ("created", "expires"):
        if name in params and not ascii_digits(params[name]):
            return reject(Reason.MALFORMED_SIGNATURE, f"{name} is not a number")
    if "created" in params:
        created = from_timestamp(int(params["created"]))
        if created is None:
            return reject(Reason.MALFORMED_SIGNATURE, "created is out of range")
        if problem := check_time(created, now, "created"):
            return reject(problem.reason, problem.message)
    if problem := check_expires(int(params["expires"]) if "expires" in params else None, now):
        return reject(problem.reason, problem.message)
    lines: list[str] = []
    for name in covered:
        line = _line(request, name, params)
        if isinstance(line, Rejection):
            return reject(line.reason, line.message)
        lines.append(line)
    return Candidate(Scheme.CAVAGE, key_id, base_bytes(lines), signature, algorithm)


def sign_cavage(request: HttpRequest, key: SigningKey, now: datetime) -> dict[str, str]:
    """Headers for a draft-cavage signed request: `(request-target) host date` on GET, plus
    `digest content-type` with a body (what Mastodon signs and requires)."""
    updates = {"Host": request.authority, "Date": http_date(now)}
    covered = [REQUEST_TARGET, "host", "date"]
    if request.body is not None:
        updates["Digest"] = digest_header(request.body)
        covered.append("digest")
        if request.header("Content-Type") is not None:
            covered.append("content-type")
    signed = HttpRequest(request.method, request.url, replace_headers(request.headers, updates), request.body)
    lines = [line for name in covered if isinstance(line := _line(signed, name, {}), str)]
    signature = base64.b64encode(key.sign(base_bytes(lines))).decode("ascii")
    algorithm = "hs2019" if isinstance(key.private_key, ed25519.Ed25519PrivateKey) else "rsa-sha256"
    header = f'keyId="{key.key_id}",algorithm="{algorithm}",headers="{" ".join(covered)}",signature="{signature}"'
    return dict(replace_headers(signed.headers, {"Signature": header}))
