"""Object Integrity Proofs: bridge/signatures/jcs.py (RFC 8785), bridge/signatures/multikey.py
(FEP-521a), bridge/signatures/proofs.py (FEP-8b32, eddsa-jcs-2022).

Our signer through our verifier, each rejection by its reason, published test vectors (each
also confirmed here by Fedify), and Fedify both ways through tests/peers/sig-peers.mjs: a
proof Fedify's own outbox puts on an activity passes our verifier, and what we sign passes
the check Fedify's inbox runs (`verifyObject`), until a byte changes. All local: the Node
peer loads JSON-LD contexts only from Fedify's preloaded set, and its inbox is on 127.0.0.1.
"""

from __future__ import annotations

import base64
import copy
import json
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bridge.keys import new_ed25519_pair
from bridge.signatures import Proof, ProofError, proofs_of, sign_object, verify_proof
from bridge.signatures.jcs import canonical
from bridge.signatures.multikey import (
    MultikeyError,
    decode_base58btc,
    decode_multibase,
    encode_base58btc,
    encode_multibase,
    multibase_from_pem,
    multibase_of,
    multikey_document,
    pem_from_multibase,
    public_key_from_multibase,
    public_key_of_multikey,
)
from tests.fedi import keypair, node_peers

CREATED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
ACTOR = "https://blog.example/users/blog"
KEY_ID = f"{ACTOR}#ed25519-key"
AS2 = "https://www.w3.org/ns/activitystreams"
DATA_INTEGRITY = "https://w3id.org/security/data-integrity/v1"
PUBLIC = f"{AS2}#Public"
# Inline terms as bridge/as2/vocab.py's OBJECT_CONTEXT writes them (a copy: this test pins the
# proofs, not the vocabulary, which moves on its own).
TERMS: dict[str, Any] = {
    "Hashtag": "as:Hashtag", "sensitive": "as:sensitive", "gts": "https://gotosocial.org/ns#",
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
}
# The W3C "Data Integrity EdDSA Cryptosuites v1.0" key pair (§A, and FEP-521a's example):
# the secret is multicodec ed25519-priv (0x80 0x26) and the 32-byte seed.
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def spec_key() -> ed25519.Ed25519PrivateKey:
    secret = decode_multibase(SPEC_SECRET)
    assert secret[:2] == b"\x80\x26"
    return ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:])


def create_activity(context: list[Any] | None = None) -> dict[str, Any]:
    """A Create shaped like what bridge/as2/posts.py sends, with the context proofs need."""
    note = f"{ACTOR.rsplit('/users/', 1)[0]}/2025/03/gruesse"
    return {
        "@context": context or [AS2, DATA_INTEGRITY, TERMS],
        "id": f"{note}#create",
        "type": "Create",
        "actor": ACTOR,
        "published": "2025-03-01T11:59:00Z",
        "to": [PUBLIC],
        "cc": [f"{ACTOR}/followers"],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": ACTOR,
            "content": "<p>Grüße aus Köln 😀 « ça va » — 東京 \u2028 <a href=\"https://blog.example/tags/x\">#x</a></p>",
            "contentMap": {"de": "<p>Grüße aus Köln 😀</p>"},
            "url": note,
            "published": "2025-03-01T11:59:00Z",
            "sensitive": False,
            "tag": [{"type": "Hashtag", "href": "https://blog.example/tags/x", "name": "#x"}],
            "to": [PUBLIC],
            "cc": [f"{ACTOR}/followers"],
        },
    }


def only_proof(document: dict[str, Any]) -> Proof:
    found = proofs_of(document)
    assert len(found) == 1
    return found[0]


def reason_of(document: dict[str, Any], proof: Proof, key: object) -> str:
    with pytest.raises(ProofError) as caught:
        verify_proof(document, proof, key)  # type: ignore[arg-type]
    return caught.value.reason


# -- JCS (RFC 8785) --------------------------------------------------------------------------

# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text (also what Node's
# Number.prototype.toString prints for each: checked against Node 22 while writing this).
APPENDIX_B = [
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), APPENDIX_B)
def test_jcs_numbers_of_rfc8785_appendix_b(bits: str, text: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical(value) == text.encode()


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_jcs_refuses_nan_and_infinity(bits: str) -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        canonical([struct.unpack(">d", bytes.fromhex(bits))[0]])


def test_jcs_integers_as_ecmascript_holds_them() -> None:
    assert canonical([0, -1, 10**21, 2**53, 2**53 + 1, -(2**60)]) == (
        b"[0,-1,1e+21,9007199254740992,9007199254740992,-1152921504606847000]")
    with pytest.raises(ValueError, match="too large"):
        canonical(10**400)


def test_jcs_sample_of_rfc8785_section_3_2_2() -> None:
    source = r'''{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }'''
    expected = r'''{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}'''
    assert canonical(json.loads(source)) == expected.encode("utf-8")


def test_jcs_sorts_members_by_utf16_code_units_rfc8785_section_3_2_3() -> None:
    source = r'''{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }'''
    values = list(json.loads(canonical(json.loads(source))).values())
    assert values == ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                      "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]
    # By code point U+1F600 would sort after U+FB33; as UTF-16 (0xD83D…) it sorts before.
    assert canonical({"\ufb33": 1, "\U0001f600": 2}) == '{"😀":2,"דּ":1}'.encode()


def test_jcs_escapes_strings_as_json_stringify() -> None:
    controls = "".join(chr(code) for code in range(0x20))
    assert canonical(controls) == (
        b'"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
        b'\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d'
        b'\\u001e\\u001f"')
    # Quote and backslash escaped; "/", DEL, U+2028, HTML and non-ASCII as themselves, in UTF-8.
    text = '"\\/\x7f\u2028</script>é😀'
    assert canonical(text) == ('"\\"\\\\/\x7f\u2028</script>é😀"').encode("utf-8")
    assert canonical({"a": [True, False, None, "", [], {}]}) == b'{"a":[true,false,null,"",[],{}]}'


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {1, 2}}, b"bytes", object(), {"a": bytearray(b"x")}])
def test_jcs_refuses_what_is_not_json(value: object) -> None:
    with pytest.raises(TypeError):
        canonical(value)


@pytest.mark.parametrize("value", ["\ud800", {"\udc00": 1}, ["a\ud83d"]])
def test_jcs_refuses_lone_surrogates(value: object) -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        canonical(value)


# -- base58btc, multibase, Multikey (FEP-521a) -------------------------------------------------

# draft-msporny-base58 §5's examples, and edge cases; each also what Fedify's
# encodeMultibase("base58btc", …) gives (checked with Node while writing this).
BASE58 = [(b"Hello World!", "2NEpo7TZRRrLZSi2U"), (bytes.fromhex("0000287fb4cd"), "11233QC4"),
          (b"", ""), (b"\0", "1"), (b"\0\0\0", "111")]


@pytest.mark.parametrize(("data", "text"), BASE58)
def test_base58btc_vectors(data: bytes, text: str) -> None:
    assert encode_base58btc(data) == text
    assert decode_base58btc(text) == data
    assert encode_multibase(data) == "z" + text
    assert decode_multibase("z" + text) == data


@pytest.mark.parametrize("data", [b"\0\0\x01\x02\xff", b"\0" * 5 + bytes(range(256)), b"\xff" * 64, bytes(32)])
def test_base58btc_round_trips_keeping_leading_zero_bytes(data: bytes) -> None:
    assert decode_base58btc(encode_base58btc(data)) == data


@pytest.mark.parametrize(("text", "message"), [
    ("z0abc", "'0' at position 0 is not a base58btc character"),
    ("zIl", "'I' at position 0"),
    ("uAAAA", "multibase prefix 'u' is not 'z'"),
    ("", "empty"),
    ("z" + "2" * 2000, "at most 1024"),
])
def test_multibase_refuses_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(MultikeyError, match=message):
        decode_multibase(text)


async def test_multikey_of_the_spec_key_pair_as_fedify_reads_it() -> None:
    """The W3C vc-di-eddsa / FEP-521a vector: our multibase of the spec's key is the spec's,
    and Fedify decodes that string to the same 32 raw bytes."""
    public = spec_key().public_key()
    assert multibase_of(public) == SPEC_PUBLIC
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    [fedify] = await node_peers([{"op": "fedify-multikey", "publicKeyMultibase": SPEC_PUBLIC}])
    assert base64.urlsafe_b64decode(fedify["x"] + "==") == raw
    assert decode_multibase(SPEC_PUBLIC) == b"\xed\x01" + raw


def test_multikey_from_pem_and_back() -> None:
    _private_pem, public_pem = new_ed25519_pair()
    multibase = multibase_from_pem(public_pem)
    assert multibase.startswith("z6Mk")
    assert pem_from_multibase(multibase).strip() == public_pem.strip()
    assert multibase_of(public_key_from_multibase(multibase)) == multibase
    document = multikey_document(KEY_ID, ACTOR, public_pem)
    assert document == {"id": KEY_ID, "type": "Multikey", "controller": ACTOR, "publicKeyMultibase": multibase}
    assert multikey_document(KEY_ID, ACTOR, public_key_from_multibase(multibase)) == document
    assert multibase_of(public_key_of_multikey(document)) == multibase


@pytest.mark.parametrize(("make", "message"), [
    (lambda: public_key_from_multibase(encode_multibase(b"\x85\x24" + bytes(32))), "not ed25519-pub"),
    (lambda: public_key_from_multibase(encode_multibase(b"\xed\x01" + bytes(31))), "32 bytes, this one 31"),
    (lambda: multibase_from_pem(keypair("proofs-rsa")[1]), "this PEM holds"),
    (lambda: multibase_from_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"), "not a usable"),
    (lambda: public_key_of_multikey({"type": "CryptographicKey", "publicKeyPem": "…"}), "is not Multikey"),
    (lambda: public_key_of_multikey({"type": "Multikey"}), "no publicKeyMultibase"),
])
def test_multikey_errors_say_what_is_wrong(make: Any, message: str) -> None:
    with pytest.raises(MultikeyError, match=message) as caught:
        make()
    assert isinstance(caught.value, ValueError)


# -- eddsa-jcs-2022: published vectors --------------------------------------------------------

# W3C "Data Integrity EdDSA Cryptosuites v1.0", the eddsa-jcs-2022 example (§A.2): its proof
# carries the document's @context, and its config hash includes it (§3.3.5).
CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
CREDENTIAL_METHOD = f"did:key:{SPEC_PUBLIC}#{SPEC_PUBLIC}"
CREDENTIAL_PROOF_VALUE = "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
SPEC_CREATED = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


async def test_the_w3c_eddsa_jcs_2022_vector_signed_by_us_verified_by_us_and_fedify() -> None:
    signed = sign_object(CREDENTIAL, spec_key(), CREDENTIAL_METHOD, SPEC_CREATED)
    assert signed["proof"] == {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "verificationMethod": CREDENTIAL_METHOD,
        "proofPurpose": "assertionMethod", "created": "2023-02-24T23:36:38Z", "proofValue": CREDENTIAL_PROOF_VALUE,
    }
    # The spec's own form, with @context inside the proof.
    vector = {**CREDENTIAL, "proof": {**signed["proof"], "@context": CREDENTIAL["@context"]}}
    verify_proof(vector, only_proof(vector), SPEC_PUBLIC)
    key = {"id": CREDENTIAL_METHOD, "type": "Multikey", "controller": f"did:key:{SPEC_PUBLIC}",
           "publicKeyMultibase": SPEC_PUBLIC}
    [fedify] = await node_peers([{"op": "fedify-verify-proofs", "document": vector, "keyDocuments": [key]}])
    assert fedify["proofs"] == [True]


async def test_the_fep_8b32_feature_vector_predates_context_in_the_config_both_refuse_it() -> None:
    """fep-8b32.feature's vector was made when the proof config held no @context (drafts of
    vc-di-eddsa before 1.0, old Fedify and Mitra). Fedify 2.3.6 and we follow 1.0: neither
    accepts it, and each accepts the same activity signed the 1.0 way."""
    activity = {"@context": [AS2, DATA_INTEGRITY], "type": "Create",
                "actor": "https://server.example/users/alice", "object": {"type": "Note", "content": "Hello world"}}
    method = "https://server.example/users/alice#ed25519-key"
    legacy = {**activity, "proof": {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "verificationMethod": method,
        "proofPurpose": "assertionMethod", "created": "2023-02-24T23:36:38Z",
        "proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp5Ks1EhYSgpDaNM977Rg2",
    }}
    assert reason_of(legacy, only_proof(legacy), SPEC_PUBLIC) == "the proof does not match the document"
    current = sign_object(activity, spec_key(), method, SPEC_CREATED)
    verify_proof(current, only_proof(current), SPEC_PUBLIC)
    key = multikey_document(method, "https://server.example/users/alice", spec_key().public_key())
    results = await node_peers([{"op": "fedify-verify-proofs", "document": document, "keyDocuments": [key]}
                                for document in (legacy, current)])
    assert results == [{"object": False, "proofs": [False]}, {"object": True, "proofs": [True]}]


# -- eddsa-jcs-2022: ours both ways, and each rejection ---------------------------------------

def test_sign_then_verify_with_the_key_its_pem_or_its_multibase() -> None:
    private_pem, public_pem = new_ed25519_pair()
    document = create_activity()
    signed = sign_object(document, private_pem, KEY_ID, CREATED)
    assert document == create_activity()  # the input is not touched
    assert {k: v for k, v in signed.items() if k != "proof"} == document
    proof = only_proof(signed)
    assert proof.supported and proof.problem is None
    assert proof.verification_method == KEY_ID
    assert proof.created == "2025-03-01T12:00:00Z"
    assert signed["proof"]["proofValue"].startswith("z")
    for key in (public_pem, multibase_from_pem(public_pem), public_key_from_multibase(multibase_from_pem(public_pem))):
        verify_proof(signed, proof, key)
    # created: any aware datetime, written in UTC to the second
    later = sign_object(document, private_pem, KEY_ID, datetime(2025, 3, 1, 14, 0, 0, 999, timezone(timedelta(hours=2))))
    assert later["proof"]["created"] == "2025-03-01T12:00:00Z"


def test_a_tampered_document_fails() -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    proof = only_proof(signed)
    tampered = [copy.deepcopy(signed) for _ in range(5)]
    tampered[0]["object"]["content"] = tampered[0]["object"]["content"].replace("Köln", "Koln")
    tampered[1]["actor"] = "https://evil.example/users/mallory"
    tampered[2]["@context"] = tampered[2]["@context"][:2]
    tampered[3]["object"]["sensitive"] = True
    tampered[4]["extra"] = None
    for document in tampered:
        assert reason_of(document, proof, public_pem) == "the proof does not match the document"


@pytest.mark.parametrize(("field", "value"), [
    ("created", "2025-03-01T12:00:01Z"),
    ("verificationMethod", "https://evil.example/users/mallory#ed25519-key"),
    ("expires", "2026-01-01T00:00:00Z"),  # an added member is covered too (§3.3.2)
])
def test_a_tampered_proof_option_fails(field: str, value: str) -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    signed["proof"][field] = value
    assert reason_of(signed, only_proof(signed), public_pem) == "the proof does not match the document"


def test_the_wrong_key_fails() -> None:
    private_pem, _public = new_ed25519_pair()
    _other, other_public = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    assert reason_of(signed, only_proof(signed), other_public) == "the proof does not match the document"
    assert reason_of(signed, only_proof(signed), keypair("proofs-rsa")[1]) == (
        "eddsa-jcs-2022 needs an Ed25519 key, not RSAPublicKey")
    assert reason_of(signed, only_proof(signed), "z0000").startswith("the key is unusable: ")


def test_a_proof_set_each_proof_with_its_own_key() -> None:
    """A second signer adds a proof beside the first; both cover the document without any proof."""
    first_private, first_public = new_ed25519_pair()
    second_private, second_public = new_ed25519_pair()
    once = sign_object(create_activity(), first_private, KEY_ID, CREATED)
    twice = sign_object(once, second_private, "https://relay.example/actor#key", CREATED)
    assert isinstance(twice["proof"], list) and twice["proof"][0] == once["proof"]
    first, second = proofs_of(twice)
    verify_proof(twice, first, first_public)
    verify_proof(twice, second, second_public)
    assert reason_of(twice, first, second_public) == "the proof does not match the document"
    thrice = sign_object(twice, first_private, KEY_ID, CREATED + timedelta(seconds=1))
    assert len(proofs_of(thrice)) == 3


@pytest.mark.parametrize(("change", "reason", "supported"), [
    ({"cryptosuite": "eddsa-rdfc-2022"}, "unsupported cryptosuite 'eddsa-rdfc-2022'", False),
    ({"cryptosuite": None}, "unsupported cryptosuite None", False),
    ({"type": "Ed25519Signature2020"}, "unsupported proof type 'Ed25519Signature2020'", False),
    ({"proofPurpose": "authentication"}, "proofPurpose must be assertionMethod", True),
    ({"proofPurpose": None}, "proofPurpose must be assertionMethod", True),
    ({"verificationMethod": None}, "the proof has no verificationMethod", True),
    ({"verificationMethod": {"id": KEY_ID}}, "malformed proof: verificationMethod must be a string", True),
    ({"proofValue": None}, "the proof has no proofValue", True),
    ({"proofValue": "u" + "A" * 86},
     "malformed proofValue: multibase prefix 'u' is not 'z' (base58btc), the only one accepted", True),
    ({"proofValue": "z0OIl"}, "malformed proofValue: '0' at position 0 is not a base58btc character", True),
    ({"proofValue": "z" + encode_base58btc(bytes(63))},
     "malformed proofValue: an Ed25519 signature has 64 bytes, not 63", True),
    ({"created": "2025-02-30T12:00:00Z"}, "created is not an XML Schema dateTime: '2025-02-30T12:00:00Z'", True),
    ({"created": "yesterday"}, "created is not an XML Schema dateTime: 'yesterday'", True),
    ({"created": "2025-03-01T12:00:00+15:00"}, "created is not an XML Schema dateTime: '2025-03-01T12:00:00+15:00'",
     True),
])
def test_each_proof_we_cannot_verify_says_why(change: dict[str, Any], reason: str, supported: bool) -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    for name, value in change.items():
        if value is None:
            del signed["proof"][name]
        else:
            signed["proof"][name] = value
    proof = only_proof(signed)
    assert (proof.problem, proof.supported) == (reason, supported)
    assert reason_of(signed, proof, public_pem) == reason


def test_created_accepts_what_xml_schema_allows() -> None:
    """Fedify writes nanoseconds; offsets and no zone are dateTimes too. What `created` says is
    hashed as written, so these are told apart by the signature, not refused by the parser."""
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    for created in ("2026-12-06T11:35:28.023927817Z", "2025-03-01T13:00:00+01:00", "2025-03-01T12:00:00"):
        signed["proof"]["created"] = created
        proof = only_proof(signed)
        assert proof.problem is None
        assert reason_of(signed, proof, public_pem) == "the proof does not match the document"


def test_proofs_of_lists_every_proof_and_names_the_foreign_ones() -> None:
    private_pem, _public = new_ed25519_pair()
    ours = sign_object(create_activity(), private_pem, KEY_ID, CREATED)["proof"]
    ld_signature = {"type": "RsaSignature2017", "creator": KEY_ID, "signatureValue": "…"}
    document = {**create_activity(), "proof": [ld_signature, ours, "https://blog.example/proofs/1"]}
    foreign, mine, reference = proofs_of(document)
    assert (foreign.supported, foreign.problem) == (False, "unsupported proof type 'RsaSignature2017'")
    assert (mine.supported, mine.problem) == (True, None)
    assert (reference.supported, reference.problem) == (False, "the proof is not a JSON object")
    assert proofs_of(create_activity()) == []
    assert proofs_of({"proof": None}) == []


def test_a_proof_with_its_own_context_must_agree_with_the_document() -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    signed["proof"]["@context"] = signed["@context"]  # as Fedify writes it: same hashes
    verify_proof(signed, only_proof(signed), public_pem)
    signed["proof"]["@context"] = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert reason_of(signed, only_proof(signed), public_pem) == "the proof's @context does not match the document's"


def test_sign_refuses_what_it_cannot_sign() -> None:
    private_pem, _public = new_ed25519_pair()
    with pytest.raises(ValueError, match="aware"):
        sign_object(create_activity(), private_pem, KEY_ID, datetime(2025, 3, 1, 12, 0, 0))
    with pytest.raises(TypeError, match="Ed25519 key, not RSAPrivateKey"):
        sign_object(create_activity(), keypair("proofs-rsa")[0], KEY_ID, CREATED)
    with pytest.raises(ValueError, match="verification_method"):
        sign_object(create_activity(), private_pem, "", CREATED)
    with pytest.raises(ValueError, match="not a JSON number"):
        sign_object({"n": float("nan")}, private_pem, KEY_ID, CREATED)
    with pytest.raises(TypeError):
        sign_object({"when": CREATED}, private_pem, KEY_ID, CREATED)


def test_verify_refuses_a_document_that_is_not_json() -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object({"a": 1}, private_pem, KEY_ID, CREATED)
    proof = only_proof(signed)
    assert reason_of([signed], proof, public_pem) == "the document is not a JSON object"  # type: ignore[arg-type]
    assert reason_of({**signed, "a": float("inf")}, proof, public_pem).startswith(
        "the document is not canonical JSON: ")


# -- Fedify, both ways -----------------------------------------------------------------------

async def test_a_proof_from_fedifys_outbox_passes_our_verifier_until_a_field_changes() -> None:
    """Fedify's outbox signs with a key it generates (its created: nanoseconds, its proof: with
    its own @context, its @context: its own compaction); we verify exactly what arrived."""
    [sent] = await node_peers([{"op": "fedify-send-signed", "activity": create_activity(), "keyId": KEY_ID}])
    received = json.loads(sent["body"])
    proof = only_proof(received)
    assert (proof.supported, proof.verification_method) == (True, KEY_ID)
    assert proof.created is not None and proof.created.endswith("Z")
    key = public_key_from_multibase(sent["publicKeyMultibase"])
    verify_proof(received, proof, key)
    verify_proof(received, proof, sent["publicKeyMultibase"])
    assert received["object"]["content"] == create_activity()["object"]["content"]

    changed = copy.deepcopy(received)
    changed["object"]["content"] = changed["object"]["content"].replace("😀", "😁")
    assert reason_of(changed, proof, key) == "the proof does not match the document"
    moved = copy.deepcopy(received)
    moved["to"] = [f"{ACTOR}/followers"]
    assert reason_of(moved, proof, key) == "the proof does not match the document"
    assert reason_of(received, proof, new_ed25519_pair()[1]) == "the proof does not match the document"


async def test_what_we_sign_passes_fedifys_inbox_check_until_a_field_changes() -> None:
    private_pem, public_pem = new_ed25519_pair()
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    changed = copy.deepcopy(signed)
    changed["object"]["content"] = changed["object"]["content"].replace("Köln", "Koeln")
    forged_created = copy.deepcopy(signed)
    forged_created["proof"]["created"] = "2025-03-01T12:00:01Z"
    key = multikey_document(KEY_ID, ACTOR, public_pem)
    results = await node_peers([{"op": "fedify-verify-proofs", "document": document, "keyDocuments": [key]}
                                for document in (signed, changed, forged_created)])
    assert results == [{"object": True, "proofs": [True]}, {"object": False, "proofs": [False]},
                       {"object": False, "proofs": [False]}]


async def test_fedify_needs_the_data_integrity_context_and_the_actors_key() -> None:
    """What proofs.py's docstring says our documents must carry: without data-integrity/v1 in
    @context Fedify's inbox does not see the proof (its raw verifyProof still agrees); and the
    key's controller must be the actor."""
    private_pem, public_pem = new_ed25519_pair()
    plain = sign_object(create_activity([AS2, TERMS]),
                        private_pem, KEY_ID, CREATED)
    signed = sign_object(create_activity(), private_pem, KEY_ID, CREATED)
    own_key = multikey_document(KEY_ID, ACTOR, public_pem)
    someone_elses = multikey_document(KEY_ID, "https://blog.example/users/other", public_pem)
    results = await node_peers([
        {"op": "fedify-verify-proofs", "document": plain, "keyDocuments": [own_key]},
        {"op": "fedify-verify-proofs", "document": signed, "keyDocuments": [someone_elses]},
    ])
    assert results == [{"object": False, "proofs": [True]}, {"object": False, "proofs": [True]}]


async def test_fedify_agrees_with_our_jcs_on_awkward_json() -> None:
    """Numbers, escapes, member order and non-BMP text, hashed by us and by Fedify's JCS
    (json-canon) through verifyProof, which reads no JSON-LD."""
    private_pem, public_pem = new_ed25519_pair()
    awkward = {
        "@context": [AS2, DATA_INTEGRITY],
        "id": f"{ACTOR}/awkward", "type": "Note", "attributedTo": ACTOR,
        "numbers": [struct.unpack(">d", bytes.fromhex(bits))[0] for bits, _text in APPENDIX_B] + [10**21, -0.0, 1.5],
        "controls": "".join(chr(code) for code in range(0x20)) + '"\\/\x7f\u2028',
        "\ufb33": 1, "\U0001f600": 2, "\u20ac": 3, "\r": 4, "1": 5, "\u0080": 6, "\u00f6": 7,
        "nested": {"b": [{"z": None, "a": True}], "a": {}},
    }
    signed = sign_object(awkward, private_pem, KEY_ID, CREATED)
    verify_proof(signed, only_proof(signed), public_pem)
    key = multikey_document(KEY_ID, ACTOR, public_pem)
    [fedify] = await node_peers([{"op": "fedify-verify-proofs", "document": signed, "keyDocuments": [key]}])
    assert fedify["proofs"] == [True]
