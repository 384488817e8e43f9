"""Property-based tests (hypothesis) of every parser the bridge owns that reads what
strangers send: whatever the input, an answer or one of our own error types, never an
unhandled exception. Examples are bounded (`FAST`) so this file stays within seconds."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bridge.as2.ids import id_of
from bridge.as2.remote_actor import BadDocument, actor_from_as2, is_actor, key_document
from bridge.blog.hcard import profile_from_mf2
from bridge.blog.microformats import parse_page, post_from_mf2
from bridge.blog.post import Post, parse_datetime
from bridge.config import Config, ConfigError, load_config, parse_config
from bridge.core.links import host_of
from bridge.core.textguard import has_lone_surrogate, unsafe_char
from bridge.inbox.routes import _parse as parse_inbox_body
from bridge.inbox.verify import authorise
from bridge.public.webfinger import ResourceError, find_account
from bridge.signatures import Candidate, HttpRequest, Rejection, inspect_signature, sfv
from bridge.signatures.cavage import parse_signature_header
from bridge.signatures.rfc9421 import parse_accept_signature
from bridge.webmention.receive import check_ping, links_to

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
URL = "https://bridge.example/users/blog/inbox"

# JSON values, bounded in size and depth.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
urlish = st.one_of(
    st.text(max_size=60),
    st.builds(lambda host, path: f"https://{host}/{path}", st.sampled_from(["a.example", "127.0.0.1:9", "xn--80a.example",
                                                                            "", "a.example:99999", "[::1]"]),
              st.text(max_size=20)),
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(["\u00e9", "\t"]),
                      max_size=200)
sig_like = st.builds(
    lambda parts: ",".join(parts),
    st.lists(st.builds(lambda k, v: f'{k}="{v}"', st.sampled_from(["keyId", "algorithm", "headers", "signature",
                                                                   "created", "expires", "x"]),
                       st.text(alphabet=string.ascii_letters + string.digits + " ()-+/=#:.", max_size=30)),
             max_size=6),
)


@FAST
@given(st.one_of(header_text, sig_like))
def test_cavage_signature_header(value: str) -> None:
    try:
        params = parse_signature_header(value)
    except ValueError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


@FAST
@given(header_text)
def test_structured_field_dictionary(value: str) -> None:
    try:
        parsed = sfv.parse_dictionary(value)
    except sfv.SFError:
        return
    assert isinstance(parsed, dict)


@FAST
@given(header_text)
def test_accept_signature(value: str) -> None:
    assert isinstance(parse_accept_signature(value), list)


@FAST
@given(st.dictionaries(st.sampled_from(["Signature", "Signature-Input", "Date", "Digest", "Content-Digest", "Host",
                                        "Content-Type"]), st.one_of(header_text, sig_like), max_size=7),
       st.one_of(st.none(), st.binary(max_size=64)), st.sampled_from(["POST", "GET"]))
def test_inspect_signature_answers_a_candidate_or_a_rejection(headers: dict[str, str], body: bytes | None,
                                                              method: str) -> None:
    verdict = inspect_signature(HttpRequest.of(method, URL, headers, body), NOW)
    assert isinstance(verdict, (Candidate, Rejection))


@FAST
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["id", "type", "actor", "object"]), st.one_of(json_values, urlish),
                                 max_size=4).map(lambda v: json.dumps(v).encode())))
def test_inbox_body_parser(body: bytes) -> None:
    result = parse_inbox_body(body)
    assert isinstance(result, (dict, Rejection))
    if isinstance(result, dict):
        assert unsafe_char(result["id"]) is None and not has_lone_surrogate(body, result)


@FAST
@given(st.dictionaries(st.sampled_from(["id", "type", "actor", "object", "attributedTo"]),
                       st.one_of(json_values, urlish), max_size=5), urlish, urlish)
@example({"actor": "", "id": "", "type": []}, "", "")  # once raised TypeError (a list is not hashable)
def test_authorise(activity: dict[str, Any], signer: str, key_id: str) -> None:
    assert authorise(activity, signer, key_id) is None or isinstance(authorise(activity, signer, key_id), Rejection)


actor_docs = st.fixed_dictionaries(
    {}, optional={"id": urlish, "type": st.one_of(st.sampled_from(["Person", "Service", "Note"]), json_values),
                  "inbox": st.one_of(urlish, json_values), "publicKey": json_values, "endpoints": json_values,
                  "preferredUsername": json_values, "name": json_values, "icon": json_values, "url": json_values,
                  "publicKeyPem": json_values, "owner": st.one_of(urlish, json_values)})


@FAST
@given(st.one_of(actor_docs, st.dictionaries(st.text(max_size=10), json_values, max_size=6)))
def test_as2_actor_readers(doc: dict[str, Any]) -> None:
    assert isinstance(is_actor(doc), bool)
    key = key_document(doc)
    assert key is None or (isinstance(key.key_id, str) and isinstance(key.pem, str))
    try:
        actor = actor_from_as2(doc)
    except BadDocument:
        return
    assert actor.uri == doc["id"] and is_actor(doc)


@FAST
@given(st.one_of(json_values, urlish))
def test_id_and_host_of(value: Any) -> None:
    got = id_of(value)
    assert got is None or isinstance(got, str)
    if isinstance(value, str):
        host = host_of(value)
        assert host is None or isinstance(host, str)


# -- mf2 → post, on generated HTML ------------------------------------------------------------------

_CLASSES = ["h-entry", "h-card", "h-feed", "h-cite", "p-name", "e-content", "u-url", "u-uid", "dt-published",
            "dt-updated", "p-author", "u-photo", "u-featured", "p-category", "u-in-reply-to", "p-summary",
            "hentry", "entry-title", "entry-content", "vcard", "fn", "published", "bookmark", "u-like-of"]
_ATTRS = st.fixed_dictionaries({}, optional={
    "href": urlish, "src": urlish, "datetime": st.text(max_size=30), "title": st.text(max_size=20),
    "alt": st.text(max_size=20), "value": st.text(max_size=20), "rel": st.sampled_from(["canonical", "author", "me", "x"]),
})


def _element(tag: str, classes: list[str], attrs: dict[str, str], inner: str) -> str:
    from html import escape
    rendered = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())
    return f'<{tag} class="{" ".join(classes)}"{rendered}>{inner}</{tag}>'


html_trees = st.recursive(
    st.text(max_size=40).map(lambda t: t.replace("<", "&lt;")),
    lambda children: st.builds(_element, st.sampled_from(["div", "a", "img", "time", "span", "article", "data", "p"]),
                               st.lists(st.sampled_from(_CLASSES), max_size=3), _ATTRS,
                               st.lists(children, max_size=4).map("".join)),
    max_leaves=25,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_trees, st.sampled_from(["https://blog.example/2025/01/post/", "http://127.0.0.1:8765/", "https://b.example"]))
def test_mf2_to_post(html: str, url: str) -> None:
    page = parse_page(f"<!doctype html><html><body>{html}</body></html>", url)
    post = post_from_mf2(page)
    assert post is None or isinstance(post, Post)
    profile = profile_from_mf2(page)
    assert profile is None or hasattr(profile, "name")


@FAST
@given(st.one_of(st.text(max_size=40), json_values))
def test_parse_datetime(value: Any) -> None:
    got = parse_datetime(value)
    assert got is None or isinstance(got, datetime)


# -- config loading --------------------------------------------------------------------------------

toml_scalars = st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.booleans())
config_docs = st.fixed_dictionaries(
    {"server": st.fixed_dictionaries({}, optional={"base_url": st.one_of(urlish, toml_scalars),
                                                   "listen": toml_scalars, "admin_token": toml_scalars})},
    optional={
        "queue": st.dictionaries(st.sampled_from(["concurrency", "lease_seconds", "poll_seconds", "bogus"]),
                                 toml_scalars, max_size=3),
        "delivery": st.dictionaries(st.sampled_from(["concurrency", "timeout_seconds", "bogus"]), toml_scalars, max_size=3),
        "log": st.dictionaries(st.sampled_from(["level"]), toml_scalars),
        "security": st.dictionaries(st.sampled_from(["allow_private_addresses"]), toml_scalars),
        "blogs": st.one_of(toml_scalars, st.lists(st.dictionaries(
            st.sampled_from(["name", "url", "poll_interval", "actor_type", "featured", "handle_domain", "tag_url"]),
            st.one_of(urlish, toml_scalars, st.lists(toml_scalars, max_size=2)), max_size=5), max_size=2)),
    })


@FAST
@given(config_docs)
def test_config_documents(doc: dict[str, Any]) -> None:
    try:
        assert isinstance(parse_config(doc, path=Path("/tmp/h9-config.toml"), env={}), Config)
    except ConfigError as exc:
        assert exc.key and str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=200)))
def test_config_files(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config(path, env={})
    except ConfigError as exc:
        assert exc.key and str(exc)
        return
    assert config.blogs  # a file that loads has every required part


# -- WebFinger and the ping's checks -----------------------------------------------------------------

def _config() -> Config:
    return parse_config({"server": {"base_url": "https://bridge.example"},
                         "blogs": [{"name": "blog", "url": "https://blog.example/"}]},
                        path=Path("/tmp/h9.toml"), env={})


@FAST
@given(st.one_of(st.none(), st.text(max_size=80), urlish))
def test_webfinger_resource(resource: str | None) -> None:
    try:
        account = find_account(_config(), resource)
    except ResourceError as exc:
        assert exc.status in (400, 404)
        return
    assert account.actor.startswith("https://bridge.example/")


@FAST
@given(urlish, urlish, st.binary(max_size=200))
def test_ping_checks(source: str, target: str, page: bytes) -> None:
    blog, why = check_ping(_config(), source, target)
    assert (blog is None) == bool(why)
    assert isinstance(links_to(page, target), bool)


# -- AS2 helpers fed with what a blog's markup says --------------------------------------------------

@FAST
@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=30)), urlish)
def test_as2_text_helpers(text: str, maybe: str | None, url: str) -> None:
    from bridge.as2.posts import hashtag_name, language_key, mention_name, tag_href, tag_slug

    assert isinstance(tag_slug(text), str)
    name = hashtag_name(text)
    assert name is None or (isinstance(name, str) and not any(c.isspace() for c in name))
    key = language_key(maybe)
    assert key is None or isinstance(key, str)
    mention = mention_name(url, maybe)
    assert mention is None or isinstance(mention, str)
    assert tag_href(text, kind="tag", blog_url="https://blog.example/", template=None,
                    wordpress=True).startswith("https://blog.example/")
