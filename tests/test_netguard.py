"""The outbound client cannot be turned against the operator's network (bridge/net/guard.py).

Real requests through the session `new_http_session` builds, with
`security.allow_private_addresses = false`; names resolve through an injected
resolver (tests talk to 127.0.0.1 only, so "public" hosts are names the resolver
maps there, allowed by an `allowed_networks` exception). A local server on
127.0.0.1 records whether anything reached it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bridge.app import new_http_session
from bridge.config import Config, SecurityConfig
from bridge.net.fetch import AddressRefused, FetchError, fetch
from bridge.net.guard import AddressPolicy, BlockedAddress, refusal
from bridge.net.signed import signed_post
from bridge.signatures import SigningKey
from tests.fedi import FakeResolver, Peer, keypair

LOCAL = [ipaddress.ip_network("127.0.0.1/32")]  # the one exception the "public" fakes need


@pytest.fixture
def strict(config: Config) -> Config:
    return replace(config, security=SecurityConfig(allow_private_addresses=False))


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    peer = await Peer.start()
    peer.serve("/", b"hello", content_type="text/plain")
    yield peer
    await peer.close()


REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("100.64.0.1", "shared"),
    ("255.255.255.255", "private"),
    ("[::1]", "loopback"),
    ("[::]", "unspecified"),
    ("[fc00::1]", "unique-local"),
    ("[fd12:3456:789a::1]", "unique-local"),
    ("[fe80::1]", "link-local"),
    ("[ff02::1]", "multicast"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped"),
    ("[::ffff:10.0.0.1]", "IPv4-mapped"),
    ("[64:ff9b::a00:1]", "embedding an IPv4"),
    ("[2002:7f00:1::1]", "embedding an IPv4"),
]


@pytest.mark.parametrize(("host", "why"), REFUSED, ids=[h for h, _ in REFUSED])
async def test_refused_address_class(strict: Config, peer: Peer, host: str, why: str) -> None:
    async with new_http_session(strict) as session:
        with pytest.raises(AddressRefused) as caught:
            await fetch(session, f"http://{host}:{peer.server.port}/")
    assert why in caught.value.reason
    assert caught.value.url == f"http://{host}:{peer.server.port}/"
    assert peer.seen == []  # refused before connecting: 127.0.0.1 had a server listening


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1"])
async def test_legacy_numeric_forms_of_loopback_do_not_connect(strict: Config, peer: Peer, host: str) -> None:
    async with new_http_session(strict) as session:
        with pytest.raises(FetchError):
            await fetch(session, f"http://{host}:{peer.server.port}/")
    assert peer.seen == []


def test_public_addresses_pass() -> None:
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.215.14"):
        assert refusal(ipaddress.ip_address(address)) is None
    AddressPolicy().check("dns.example", "8.8.8.8")
    with pytest.raises(BlockedAddress):
        AddressPolicy().check("x.example", "not-an-address")


async def test_a_name_that_resolves_to_loopback_is_refused(strict: Config, peer: Peer) -> None:
    resolver = FakeResolver({"evil.example": ["127.0.0.1"]})
    async with new_http_session(strict, resolver=resolver) as session:
        with pytest.raises(AddressRefused) as caught:
            await fetch(session, f"http://evil.example:{peer.server.port}/")
    assert "loopback" in caught.value.reason and caught.value.address == "127.0.0.1"
    assert resolver.lookups == ["evil.example"] and peer.seen == []


async def test_one_private_answer_among_public_ones_refuses_the_name(strict: Config, peer: Peer) -> None:
    resolver = FakeResolver({"mixed.example": ["8.8.8.8", "10.0.0.7"]})
    async with new_http_session(strict, resolver=resolver) as session:
        with pytest.raises(AddressRefused) as caught:
            await fetch(session, "http://mixed.example/")
    assert caught.value.address == "10.0.0.7"


@pytest.mark.parametrize(("location", "why"), [
    ("http://10.0.0.1/admin", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://intranet.example/", "private"),  # a name: resolved, checked, refused
    ("file:///etc/passwd", "scheme"),
    ("gopher://public.example/", "scheme"),
])
async def test_a_public_url_that_redirects_to_a_private_one(strict: Config, peer: Peer, location: str, why: str) -> None:
    peer.serve("/start", b"", status=302, headers={"Location": location})
    resolver = FakeResolver({"public.example": ["127.0.0.1"], "intranet.example": ["192.168.0.10"]})
    async with new_http_session(strict, resolver=resolver, allowed_networks=LOCAL) as session:
        with pytest.raises(AddressRefused) as caught:
            await fetch(session, f"http://public.example:{peer.server.port}/start")
    assert why in caught.value.reason
    assert caught.value.url == location  # the error names the hop that was refused
    assert [s.url for s in peer.seen] == [f"http://public.example:{peer.server.port}/start"]


class Rebinding(FakeResolver):
    """Answers a public address once, then a private one (a DNS-rebinding attacker)."""

    async def resolve(self, host: str, port: int = 0, family: object = None) -> list:  # type: ignore[override]
        answer = await super().resolve(host, port)
        self.table[host] = ["10.0.0.1"]
        return answer


async def test_the_connection_goes_to_the_checked_address(strict: Config, peer: Peer) -> None:
    peer.serve("/", b"hello", content_type="text/plain", headers={"Connection": "close"})  # no reuse
    resolver = Rebinding({"public.example": ["127.0.0.1"]})
    async with new_http_session(strict, resolver=resolver, allowed_networks=LOCAL) as session:
        result = await fetch(session, f"http://public.example:{peer.server.port}/")
        assert result.body == b"hello"
        # One lookup, and the connection arrived on the very address that was checked.
        assert resolver.lookups == ["public.example"]
        assert [s.local_address for s in peer.seen] == ["127.0.0.1"]
        # The next lookup answers a private address: checked again, refused.
        session.connector.clear_dns_cache()  # type: ignore[union-attr]
        with pytest.raises(AddressRefused):
            await fetch(session, f"http://public.example:{peer.server.port}/")
    assert len(peer.seen) == 1


async def test_signed_posts_are_guarded_too(database: Config, strict: Config, peer: Peer) -> None:
    key = SigningKey("https://bridge.example/users/blog#main-key", keypair("blog")[0])
    async with new_http_session(strict) as session:
        with pytest.raises(AddressRefused) as caught:
            await signed_post(session, f"http://127.0.0.1:{peer.server.port}/inbox", b"{}", key,
                              clock=lambda: datetime.now(UTC))
    assert "loopback" in caught.value.reason and peer.seen == []


async def test_allow_private_addresses_lifts_the_rule(config: Config, peer: Peer) -> None:
    assert config.security.allow_private_addresses  # the test suite's configs
    async with new_http_session(config) as session:
        assert (await fetch(session, f"http://127.0.0.1:{peer.server.port}/")).body == b"hello"


async def test_the_session_does_not_take_proxies_from_the_environment(strict: Config, monkeypatch: pytest.MonkeyPatch,
                                                                        peer: Peer) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{peer.server.port}")
    resolver = FakeResolver({"elsewhere.example": ["10.9.9.9"]})
    async with new_http_session(strict, resolver=resolver) as session:
        with pytest.raises(AddressRefused):
            await fetch(session, "http://elsewhere.example/")
    assert peer.seen == []


async def test_non_http_schemes_are_refused(strict: Config) -> None:
    async with new_http_session(strict) as session:
        for url in ("ftp://example.com/", "unix:///var/run/docker.sock", "ws://example.com/"):
            with pytest.raises(AddressRefused) as caught:
                await fetch(session, url)
            assert "scheme" in caught.value.reason

