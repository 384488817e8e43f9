"""RFC 9421 HTTP Message Signatures (with RFC 9530 Content-Digest): sign and inspect.

Pure. Requests only, the derived components a request has, and header fields
without component parameters (`;sf`, `;key`, `;bs`, `;req` are refused as
unsupported rather than half-implemented). The `@signature-params` line is
re-serialised from the parsed Signature-Input (RFC 9421 §2.3).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bridge.signatures import sfv
from bridge.signatures.base import (
    RFC9421_ALGORITHMS,
    Candidate,
    HttpRequest,
    Reason,
    Rejection,
    Scheme,
    SigningKey,
    base_bytes,
    check_content_digest,
    check_expires,
    check_time,
    content_digest_header,
    from_timestamp,
    http_date,
    replace_headers,
)

DEFAULT_LABEL = "sig1"
REQUIRED = ("@method", "@target-uri")  # and content-digest with a body (Mastodon's rule)
SIGNED_GET = ("@method", "@target-uri", "@authority")
SIGNED_POST = SIGNED_GET + ("content-digest",)


def _component(request: HttpRequest, name: str) -> str | None:
    """A component's value (RFC 9421 §2.1, §2.2), or None if the request has none."""
    parts = urlsplit(request.url)
    if name == "@method":
        return request.method
    if name == "@target-uri":
        return request.url
    if name == "@authority":
        return request.authority
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@request-target":
        return request.target
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return f"?{parts.query}"
    if name.startswith("@"):
        return None  # @status, @query-param (needs a parameter), @signature-params: not here
    return request.header(name)


def _base(request: HttpRequest, inner: sfv.InnerList) -> list[str] | Rejection:
    lines = []
    for item in inner.items:
        name = str(item.value)
        value = _component(request, name)
        if value is None:
            return Rejection(Reason.MALFORMED_SIGNATURE, f"the covered component {name} is not in the request")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {sfv.serialize_inner_list(inner)}')
    return lines


def _inspect_one(request: HttpRequest, now: datetime, label: str, member: sfv.Member,
                 signature: sfv.Member | None) -> Candidate | Rejection:
    if not isinstance(member, sfv.InnerList):
        return Rejection(Reason.MALFORMED_SIGNATURE, f"Signature-Input {label} is not an inner list")
    params = member.params
    keyid = params.get("keyid")
    if not isinstance(keyid, str) or not keyid:
        return Rejection(Reason.MALFORMED_SIGNATURE, f"Signature-Input {label} has no keyid")

    def reject(reason: Reason, message: str) -> Rejection:
        return Rejection(reason, message, keyid)

    if not isinstance(signature, sfv.Item) or not isinstance(signature.value, bytes):
        return reject(Reason.MALFORMED_SIGNATURE, f"no signature labelled {label} in the Signature header")
    names: list[str] = []
    for item in member.items:
        name = item.value
        if not isinstance(name, str) or isinstance(name, sfv.Token) or name != name.lower():
            return reject(Reason.MALFORMED_SIGNATURE, f"bad component identifier {name!r}")
        if item.params:
            return reject(Reason.UNSUPPORTED_SIGNATURE, f"component parameters on {name} are not supported")
        if name in names:
            return reject(Reason.MALFORMED_SIGNATURE, f"{name} is covered twice")
        names.append(name)
    created, expires, alg = params.get("created"), params.get("expires"), params.get("alg")
    if not isinstance(created, int) or isinstance(created, bool):
        return reject(Reason.UNSIGNED_COMPONENT, "the created parameter is required")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        return reject(Reason.MALFORMED_SIGNATURE, "expires is not an integer")
    if alg is not None and (not isinstance(alg, str) or alg not in RFC9421_ALGORITHMS):
        return reject(Reason.UNSUPPORTED_ALGORITHM, f"alg {alg!r} (rsa-v1_5-sha256 or ed25519 expected)")
    for part in REQUIRED:
        if part not in names:
            return reject(Reason.UNSIGNED_COMPONENT, f"{part} is not among the covered components")
    if request.body is not None:
        digest = request.header("Content-Digest")
        if digest is None:
            return reject(Reason.DIGEST_MISSING, "a request with a body needs a Content-Digest header")
        if "content-digest" not in names:
            return reject(Reason.UNSIGNED_COMPONENT, "content-digest is not among the covered components")
        if problem := check_content_digest(digest, request.body):
            return reject(problem.reason, problem.message)
    created_at = from_timestamp(created)
    if created_at is None:
        return reject(Reason.MALFORMED_SIGNATURE, "created is out of range")
    if problem := check_time(created_at, now, "created"):
        return reject(problem.reason, problem.message)
    if problem := check_expires(expires, now):
        return reject(problem.reason, problem.message)
    lines = _base(request, member)
    if isinstance(lines, Rejection):
        return reject(lines.reason, lines.message)
    return Candidate(Scheme.RFC9421, keyid, base_bytes(lines), signature.value, alg)


def inspect_rfc9421(request: HttpRequest, now: datetime) -> Candidate | Rejection:
    """The first signature (in Signature-Input order) that passes every check needing no key;
    else the first one's rejection."""
    try:
        inputs = sfv.parse_dictionary(request.header("Signature-Input") or "")
        signatures = sfv.parse_dictionary(request.header("Signature") or "")
    except sfv.SFError as exc:
        return Rejection(Reason.MALFORMED_SIGNATURE, f"Signature-Input or Signature: {exc}")
    if not inputs:
        return Rejection(Reason.MALFORMED_SIGNATURE, "Signature-Input is empty")
    first: Rejection | None = None
    for label, member in inputs.items():
        result = _inspect_one(request, now, label, member, signatures.get(label))
        if isinstance(result, Candidate):
            return result
        first = first or result
    assert first is not None
    return first


@dataclass(frozen=True, slots=True)
class AcceptSignature:
    """One member of an `Accept-Signature` challenge (RFC 9421 §5.1)."""

    label: str
    components: tuple[str, ...]
    keyid: str | None = None
    alg: str | None = None
    nonce: str | None = None
    tag: str | None = None


def parse_accept_signature(value: str) -> list[AcceptSignature]:
    """The challenges we could answer; an unparseable header gives none."""
    try:
        members = sfv.parse_dictionary(value)
    except sfv.SFError:
        return []
    out = []
    for label, member in members.items():
        if not isinstance(member, sfv.InnerList):
            continue
        names = [i.value for i in member.items]
        if any(not isinstance(n, str) or isinstance(n, sfv.Token) or i.params for n, i in zip(names, member.items)):
            continue
        p = member.params

        def text(name: str) -> str | None:
            v = p.get(name)
            return v if isinstance(v, str) else None

        out.append(AcceptSignature(label, tuple(str(n) for n in names), text("keyid"), text("alg"),
                                   text("nonce"), text("tag")))
    return out


def sign_rfc9421(request: HttpRequest, key: SigningKey, now: datetime, *,
                 challenge: AcceptSignature | None = None) -> dict[str, str]:
    """Headers for an RFC 9421 signed request: `@method @target-uri @authority` (+ `content-digest`),
    `created`, `keyid`, `alg`. A challenge we can meet adds its components, label, nonce and tag."""
    updates = {"Host": request.authority, "Date": http_date(now)}
    if request.body is not None:
        updates["Content-Digest"] = content_digest_header(request.body)
    signed = HttpRequest(request.method, request.url, replace_headers(request.headers, updates), request.body)
    names = list(SIGNED_POST if request.body is not None else SIGNED_GET)
    label = DEFAULT_LABEL
    params: dict[str, sfv.Bare] = {"created": int(now.timestamp()), "keyid": key.key_id, "alg": key.rfc9421_alg}
    if challenge is not None and _can_meet(challenge, signed, key):
        label = challenge.label
        names = list(challenge.components) + [n for n in names if n not in challenge.components]
        params.update({k: v for k, v in (("nonce", challenge.nonce), ("tag", challenge.tag)) if v is not None})
    inner = sfv.InnerList(tuple(sfv.Item(n) for n in names), params)
    lines = _base(signed, inner)
    assert not isinstance(lines, Rejection)  # _can_meet checked every component exists
    signature = base64.b64encode(key.sign(base_bytes(lines))).decode("ascii")
    return dict(replace_headers(signed.headers, {
        "Signature-Input": f"{label}={sfv.serialize_inner_list(inner)}",
        "Signature": f"{label}=:{signature}:",
    }))


def _can_meet(challenge: AcceptSignature, request: HttpRequest, key: SigningKey) -> bool:
    """Only with our own key and algorithm, and components this request has (RFC 9421 §5.2)."""
    if challenge.keyid not in (None, key.key_id) or challenge.alg not in (None, key.rfc9421_alg):
        return False
    return all(_component(request, n) is not None and n == n.lower() for n in challenge.components)
