"""Bad input at the inboxes (personal and shared): the body, the JSON, the headers and the
signature. Every case: the status and reason, one `inbox.rejected` record, no row changed.
The keys of these signers are served by a real local peer (tests/fedi.py `Peer`);
tests/hostile/test_doors_inbox_keys.py has the hostile key servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bridge.config import Config
from bridge.signatures import Scheme, SigningKey, digest_header, http_date
from tests.fedi import AS2, craft_cavage, keypair
from tests.hostile.inbox_world import INBOX, NOW, PUBLIC, SHARED, Stage, stage
from tests.hostile.table import Case, assert_logged_once, record, snapshot, watch

Send = Callable[[Stage, str], tuple[bytes, dict[str, str]]]  # (stage, path) → body, headers
MB = 1024 * 1024


def raw(body: bytes, content_type: str | None = AS2) -> Send:
    """An unsigned body: refused for what it is before any signature question."""
    return lambda s, path: (body, {"Content-Type": content_type} if content_type else {})


def fields(**changes: Any) -> Send:
    """alice's activity with fields replaced (a value of ... removes the field), unsigned."""
    def send(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
        activity = s.activity()
        for k, v in changes.items():
            if v is ...:
                activity.pop(k)
            else:
                activity[k] = v
        return json.dumps(activity).encode(), {"Content-Type": AS2}
    return send


def signed(make: Callable[[Stage], dict[str, Any]], *, key: Callable[[Stage], SigningKey] | None = None,
           now: timedelta = timedelta(0), scheme: Scheme = Scheme.CAVAGE,
           tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]] | None = None) -> Send:
    """An activity signed by alice (or `key`), at NOW + `now`, optionally tampered with after signing."""
    def send(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(make(s)).encode()
        headers = s.signed(body, path=path, key=key(s) if key else None, now=NOW + now, scheme=scheme)
        if tamper:
            headers, body = tamper(dict(headers), body)
        return body, headers
    return send


def crafted(covered: list[str], extra: dict[str, str] | None = None, *, algorithm: str | None = None,
            signature_header: Callable[[str], str] | None = None) -> Send:
    """A draft-cavage signature over exactly `covered`, made by alice's key."""
    def send(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(s.activity()).encode()
        headers = {"Host": "bridge.example", "Date": http_date(NOW), "Content-Type": AS2,
                   "Digest": digest_header(body), **(extra or {})}
        headers = {k: v for k, v in headers.items() if v}
        out = craft_cavage("POST", PUBLIC + path, headers, covered, s.key)
        if algorithm is not None:
            out["Signature"] = out["Signature"].replace('algorithm="rsa-sha256"', f'algorithm="{algorithm}"')
        if signature_header is not None:
            out["Signature"] = signature_header(out["Signature"])
        return body, out
    return send


def header_only(value: str) -> Send:
    """A Signature header as given (malformed in some way), over alice's activity."""
    def send(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(s.activity()).encode()
        return body, {"Content-Type": AS2, "Date": http_date(NOW), "Digest": digest_header(body), "Signature": value}
    return send


def _deep(n: int) -> bytes:
    return b'{"id": "https://a.example/1", "type": "Create", "actor": "https://a.example/u", "object": ' + \
        b'{"a": ' * n + b"1" + b"}" * n + b"}"


# -- the body and the JSON: before any signature question ----------------------------------------

BODY_CASES: list[Case] = [
    Case("empty body", 400, "not_json", raw(b"")),
    Case("plain text", 400, "not_json", raw(b"hello", "application/activity+json")),
    Case("truncated JSON", 400, "not_json", raw(b'{"id": "https://a.example/1", "type": "Cre')),
    Case("an open brace", 400, "not_json", raw(b"{")),
    Case("trailing garbage", 400, "not_json", raw(b'{"id": "https://a.example/1"} trailing')),
    Case("trailing comma", 400, "not_json", raw(b'{"id": "https://a.example/1",}')),
    Case("single quotes", 400, "not_json", raw(b"{'id': 'https://a.example/1'}")),
    Case("invalid UTF-8", 400, "not_json", raw(b'{"id": "https://a.example/\xff\xfe"}')),
    Case("UTF-16 body (read as JSON, no id)", 400, "invalid_activity", raw('{"id": 1}'.encode("utf-16"))),
    Case("a NUL byte", 400, "not_json", raw(b'{"id": "https://a.example/1"\x00}')),
    Case("top-level array", 400, "not_json", raw(b'[{"id": "https://a.example/1"}]')),
    Case("top-level string", 400, "not_json", raw(b'"Create"')),
    Case("top-level number", 400, "not_json", raw(b"42")),
    Case("top-level null", 400, "not_json", raw(b"null")),
    Case("top-level NaN", 400, "not_json", raw(b"NaN")),
    Case("deep nesting (100 000 arrays)", 400, "not_json", raw(b"[" * 100_000 + b"]" * 100_000)),
    Case("deep nesting inside the activity", 400, "not_json", raw(_deep(50_000))),
    Case("huge top-level array under the cap", 400, "not_json", raw(b"[" + b"0," * 400_000 + b"0]")),
    Case("huge array over the cap", 413, "body_too_large", raw(b'{"to": [' + b'"x",' * 300_000 + b'"x"]}')),
    Case("body over the cap", 413, "body_too_large", raw(b"{" + b" " * MB + b"}")),
    Case("empty object", 400, "invalid_activity", raw(b"{}")),
    # content types that are not JSON (415 before the body is read)
    Case("form-encoded content type", 415, "unsupported_media_type", raw(b"id=1", "application/x-www-form-urlencoded")),
    Case("multipart content type", 415, "unsupported_media_type", raw(b"--x--", "multipart/form-data; boundary=x")),
    Case("text/html content type", 415, "unsupported_media_type", raw(b"<p>hi</p>", "text/html")),
    Case("text/plain content type", 415, "unsupported_media_type", raw(b"{}", "text/plain")),
    Case("XML content type", 415, "unsupported_media_type", raw(b"<a/>", "application/xml")),
    Case("image content type", 415, "unsupported_media_type", raw(b"\x89PNG", "image/png")),
    Case("content type that only contains json", 415, "unsupported_media_type", raw(b"{}", "text/json-ish")),
]

_WRONG = {"null": None, "a number": 1, "a float": 1.5, "a boolean": True, "an empty list": [], "an object": {},
          "an empty string": ""}
for _field in ("id", "type", "actor"):
    for _label, _value in _WRONG.items():
        if _field == "actor" and _label == "an object":
            _value = {"type": "Person"}  # an actor object without an id
        BODY_CASES.append(Case(f"{_field} is {_label}", 400, "invalid_activity", fields(**{_field: _value})))
    BODY_CASES.append(Case(f"{_field} missing", 400, "invalid_activity", fields(**{_field: ...})))

BODY_CASES += [
    Case("id is a list of URLs", 400, "invalid_activity", fields(id=["https://a.example/1"])),
    Case("type is a list", 400, "invalid_activity", fields(type=["Create", "Note"])),
    Case("actor is a list of URLs", 400, "invalid_activity", fields(actor=["https://a.example/u"])),
    Case("id is a urn", 400, "invalid_activity", fields(id="urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66")),
    Case("id is javascript:", 400, "invalid_activity", fields(id="javascript:alert(1)")),
    Case("id is ftp:", 400, "invalid_activity", fields(id="ftp://a.example/1")),
    Case("id without a host", 400, "invalid_activity", fields(id="https:///statuses/1")),
    Case("id scheme-relative", 400, "invalid_activity", fields(id="//a.example/1")),
    Case("actor is a data: URL", 400, "invalid_activity", fields(actor="data:text/plain,alice")),
    Case("id over 2000 characters", 400, "invalid_activity", fields(id="https://a.example/" + "a" * 2000)),
    Case("type over 64 characters", 400, "invalid_activity", fields(type="Create" * 20)),
    # unicode tricks in ids: refused before they can be stored or shown
    Case("id with a right-to-left override", 400, "invalid_activity", fields(id="https://a.example/\u202etxt.exe")),
    Case("id with a zero-width space", 400, "invalid_activity", fields(id="https://a.exa\u200bmple/1")),
    Case("id with a space in the host", 400, "invalid_activity", fields(id="https://a .example/1")),
    Case("id with a newline", 400, "invalid_activity", fields(id="https://a.example/1\nX-Injected: 1")),
    Case("id with a NUL", 400, "invalid_activity", fields(id="https://a.example/\u00001")),
    Case("actor with a byte-order mark", 400, "invalid_activity", fields(actor="\ufeffhttps://a.example/u")),
    Case("actor with a bidi isolate", 400, "invalid_activity", fields(actor="https://a.example/u\u2066x")),
    Case("id with a lone surrogate", 400, "invalid_activity", raw(b'{"id": "https://a.example/\\ud800", '
                                                                  b'"type": "Create", "actor": "https://a.example/u"}')),
    Case("content with a lone surrogate", 400, "invalid_activity",
         raw(b'{"id": "https://a.example/1", "type": "Create", "actor": "https://a.example/u", '
             b'"object": {"content": "\\udfff"}}')),
]


# -- the signature: well-formed activities, bad signing --------------------------------------------

def _alice_as(name: str) -> Callable[[Stage], dict[str, Any]]:
    return lambda s: s.activity(actor=f"{s.peer.base}/users/{name}")


def _strip(header: str) -> Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]:
    return lambda h, b: ({k: v for k, v in h.items() if k.lower() != header.lower()}, b)


def _set(header: str, value: str) -> Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]:
    return lambda h, b: ({**h, header: value}, b)


SIGNATURE_CASES: list[Case] = [
    Case("no signature", 401, "no_signature", raw(json.dumps({"id": "https://a.example/1", "type": "Like",
                                                              "actor": "https://a.example/u"}).encode())),
    Case("stale Date (2 hours)", 401, "date_too_old", signed(lambda s: s.activity(), now=-timedelta(hours=2))),
    Case("stale Date (a year)", 401, "date_too_old", signed(lambda s: s.activity(), now=-timedelta(days=365))),
    Case("future Date (2 hours)", 401, "date_too_new", signed(lambda s: s.activity(), now=timedelta(hours=2))),
    Case("future Date (a day)", 401, "date_too_new", signed(lambda s: s.activity(), now=timedelta(days=1))),
    Case("stale created (RFC 9421)", 401, "date_too_old",
         signed(lambda s: s.activity(), now=-timedelta(hours=3), scheme=Scheme.RFC9421)),
    Case("future created (RFC 9421)", 401, "date_too_new",
         signed(lambda s: s.activity(), now=timedelta(hours=3), scheme=Scheme.RFC9421)),
    Case("Date header unparseable", 400, "malformed_signature",
         crafted(["(request-target)", "host", "date", "digest"], {"Date": "yesterday, at noon"})),
    Case("Date header missing", 401, "date_missing", crafted(["(request-target)", "host", "digest"], {"Date": ""})),
    Case("digest missing", 401, "digest_missing", crafted(["(request-target)", "host", "date"], {"Digest": ""})),
    Case("digest not signed", 401, "unsigned_component", crafted(["(request-target)", "host", "date"])),
    Case("digest wrong", 401, "digest_mismatch",
         crafted(["(request-target)", "host", "date", "digest"], {"Digest": digest_header(b"another body")})),
    Case("digest with SHA-1 only", 401, "digest_missing",
         crafted(["(request-target)", "host", "date", "digest"], {"Digest": "SHA=2jmj7l5rSw0yVb/vlWAYkK/YBwk="})),
    Case("digest not base64", 400, "malformed_signature",
         crafted(["(request-target)", "host", "date", "digest"], {"Digest": "SHA-256=***"})),
    Case("Content-Digest wrong (RFC 9421)", 401, "digest_mismatch",
         signed(lambda s: s.activity(), scheme=Scheme.RFC9421, tamper=lambda h, b: (h, b.replace(b"Nice", b"Evil")))),
    Case("Content-Digest removed (RFC 9421)", 401, "digest_missing",
         signed(lambda s: s.activity(), scheme=Scheme.RFC9421, tamper=_strip("Content-Digest"))),
    Case("request-target not signed", 401, "unsigned_component", crafted(["host", "date", "digest"])),
    Case("host not signed", 401, "unsigned_component", crafted(["(request-target)", "date", "digest"])),
    Case("algorithm hmac-sha256", 401, "unsupported_algorithm",
         crafted(["(request-target)", "host", "date", "digest"], algorithm="hmac-sha256")),
    Case("algorithm ecdsa-sha256 with an RSA key", 401, "unsupported_algorithm",
         crafted(["(request-target)", "host", "date", "digest"], algorithm="ecdsa-sha256")),
    Case("algorithm ed25519 with an RSA key", 401, "unsupported_algorithm",
         crafted(["(request-target)", "host", "date", "digest"], algorithm="ed25519")),
    Case("algorithm none", 401, "unsupported_algorithm",
         crafted(["(request-target)", "host", "date", "digest"], algorithm="none")),
    Case("signature not base64", 400, "malformed_signature",
         crafted(["(request-target)", "host", "date", "digest"],
                 signature_header=lambda h: h.split('signature="')[0] + 'signature="%%%not-base64%%%"')),
    Case("signature empty", 400, "malformed_signature",
         crafted(["(request-target)", "host", "date", "digest"],
                 signature_header=lambda h: h.split('signature="')[0] + 'signature=""')),
    Case("created in superscript digits", 400, "malformed_signature",  # str.isdigit() takes "²": it was a 500
         crafted(["(request-target)", "host", "date", "digest"], signature_header=lambda h: h + ',created="²"')),
    Case("expires in Arabic-Indic digits", 400, "malformed_signature",
         crafted(["(request-target)", "host", "date", "digest"], signature_header=lambda h: h + ',expires="١٢"')),
    Case("Signature header garbage", 400, "malformed_signature", header_only("this is not a signature")),
    Case("Signature header without keyId", 400, "malformed_signature",
         header_only('algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"')),
    Case("Signature header unterminated quote", 400, "malformed_signature", header_only('keyId="https://a.example/k')),
    Case("Signature header with a duplicated keyId", 400, "malformed_signature",
         header_only('keyId="https://a.example/k",keyId="https://b.example/k",headers="date",signature="AA=="')),
    Case("Signature header 7 kB of commas", 400, "malformed_signature", header_only("," * 7_000)),  # aiohttp itself refuses lines over 8190 bytes
    Case("keyId not a URL", 401, "unknown_key",
         header_only('keyId="urn:x:1",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"')),
    Case("keyId javascript:", 401, "unknown_key",
         header_only('keyId="javascript:1",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"')),
    Case("signed by another key (forged)", 401, "bad_signature",
         signed(lambda s: s.activity(), key=lambda s: SigningKey(s.key.key_id, keypair("mallory")[0]))),
    Case("body changed after signing", 401, "digest_mismatch",
         signed(lambda s: s.activity(), tamper=lambda h, b: (h, b.replace(b"Nice", b"Evil")))),
    Case("body and digest changed after signing", 401, "bad_signature",
         signed(lambda s: s.activity(), tamper=lambda h, b: ({**h, "Digest": digest_header(b + b" ")}, b + b" "))),
    Case("a signed header changed after signing", 401, "bad_signature",
         signed(lambda s: s.activity(), tamper=_set("Date", http_date(NOW + timedelta(seconds=5))))),
    Case("signed for another server", 401, "bad_signature",
         signed(lambda s: s.activity(), tamper=lambda h, b: (h, b))),  # replaced below: path-bound
    Case("spoofed actor (bob, signed by alice)", 401, "signer_not_actor", signed(_alice_as("bob"))),
    Case("actor on another host", 401, "signer_not_actor",
         signed(lambda s: s.activity(actor="https://victim.example/users/alice"))),
    Case("actor as an object naming someone else", 401, "signer_not_actor",
         signed(lambda s: s.activity(actor={"id": "https://victim.example/users/bob", "type": "Person"}))),
    Case("actor with a look-alike (Cyrillic) host", 401, "signer_not_actor",
         signed(lambda s: s.activity(actor=s.alice.replace("127.0.0.1", "xn--80ak6aa92e.example")))),
    Case("activity id on another host", 401, "foreign_id",
         signed(lambda s: s.activity(type="Like", id="https://victim.example/likes/1", object=f"{PUBLIC}/users/blog"))),
    Case("object id on another host", 401, "foreign_id",
         signed(lambda s: s.activity(object={"id": "https://victim.example/notes/1", "type": "Note",
                                             "attributedTo": s.alice}))),
    Case("Update of another host's object", 401, "foreign_id",
         signed(lambda s: s.activity(type="Update", object="https://victim.example/notes/1"))),
    Case("Delete of another host's object", 401, "foreign_id",
         signed(lambda s: s.activity(type="Delete", object="https://victim.example/notes/1"))),
    Case("object attributed to someone else", 401, "foreign_id",
         signed(lambda s: s.activity(object={"id": f"{s.alice}/statuses/2", "type": "Note",
                                             "attributedTo": f"{s.peer.base}/users/bob"}))),
    Case("object attributed to a list with a stranger", 401, "foreign_id",
         signed(lambda s: s.activity(object={"id": f"{s.alice}/statuses/2", "type": "Note",
                                             "attributedTo": [s.alice, "https://victim.example/u"]}))),
]


def _signed_surrogate(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
    """Correctly signed by alice, with a lone surrogate escape in the content: JSON allows it,
    UTF-8 (PostgreSQL's jsonb) does not."""
    body = json.dumps(s.activity()).encode().replace(b"Nice post!", b"Nice \\udc80post!")
    return body, s.signed(body, path=path)


def _other_server(s: Stage, path: str) -> tuple[bytes, dict[str, str]]:
    from tests.fedi import signed_headers
    body = json.dumps(s.activity()).encode()
    return body, signed_headers("POST", "https://other.example" + path, body, s.key, NOW, Scheme.CAVAGE)


SIGNATURE_CASES = [c if c.name != "signed for another server" else Case(c.name, 401, "bad_signature", _other_server)
                   for c in SIGNATURE_CASES]
SIGNATURE_CASES.append(Case("signed, with a lone surrogate in the content", 400, "invalid_activity", _signed_surrogate))


async def run_case(s: Stage, case: Case, path: str, caplog: pytest.LogCaptureFixture, door: str) -> None:
    body, headers = case.send(s, path)
    before = await snapshot()
    caplog.clear()
    status, answer = await s.post(body, headers, path=path)
    after = await snapshot()
    record(door, case, got_status=status, got_reason=str(answer.get("error")), detail=str(answer.get("detail", "")),
           db_unchanged=before == after)
    assert (status, answer.get("error")) == (case.status, case.reason), answer
    assert answer.get("detail"), "a refusal says why"
    assert_logged_once(caplog, "inbox.rejected", f"reason={case.reason} status={case.status}")
    assert after == before


# Both inboxes share one code path: each case is tried at one of them, in turn, so both
# see every kind of case without doubling the suite's time.
ALL_CASES = [(case, INBOX if n % 2 == 0 else SHARED) for n, case in enumerate(BODY_CASES + SIGNATURE_CASES)]


@pytest.mark.parametrize(("case", "path"), ALL_CASES,
                         ids=[f"{c.name}-{'personal' if p == INBOX else 'shared'}" for c, p in ALL_CASES])
async def test_inbox_refuses(database: Config, caplog: pytest.LogCaptureFixture, case: Case, path: str) -> None:
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        await run_case(s, case, path, caplog, "inbox" if path == INBOX else "shared inbox")


async def test_a_replayed_activity_is_stored_once(database: Config, caplog: pytest.LogCaptureFixture) -> None:
    """The same signed request again (a replay inside the window): 202, nothing new stored,
    no second job. Outside the window it is a stale Date (above)."""
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        body = json.dumps(s.activity()).encode()
        headers = s.signed(body)
        assert (await s.post(body, headers))[0] == 202
        before = await snapshot()
        for path in (INBOX, INBOX):
            assert (await s.post(body, headers, path=path))[0] == 202
        assert await snapshot() == before
        # The same signature replayed at another inbox: the request-target was signed.
        caplog.clear()
        status, answer = await s.post(body, headers, path=SHARED)
        assert (status, answer["error"]) == (401, "bad_signature")
        assert_logged_once(caplog, "inbox.rejected", "reason=bad_signature")
        assert await snapshot() == before


async def test_an_unknown_recipient(database: Config, caplog: pytest.LogCaptureFixture) -> None:
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        for name in ("nobody", "BLOG", "blog%00", "%E2%80%AEgolb"):
            body = json.dumps(s.activity()).encode()
            before = await snapshot()
            caplog.clear()
            status, answer = await s.post(body, s.signed(body, path=f"/users/{name}/inbox"), path=f"/users/{name}/inbox")
            assert (status, answer["error"]) == (404, "no_such_actor")
            assert_logged_once(caplog, "inbox.rejected", "reason=no_such_actor")
            assert await snapshot() == before
