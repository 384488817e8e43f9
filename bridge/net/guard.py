"""The outbound client that cannot be turned against the operator's network (SSRF).

Every URL the bridge fetches comes from someone else: a keyId, an actor's inbox, a
redirect, a blog page. So the one `aiohttp.ClientSession` is built on a connector
that resolves names itself and checks every address it got before connecting:
loopback, private, link-local, multicast, unspecified, reserved, shared (CGNAT),
IPv4-mapped/-translated and unique-local IPv6 are refused. aiohttp connects to the
very addresses the resolver returned, so there is no second lookup between check
and connect for a DNS-rebinding server to answer differently. Addresses written in
the URL (no lookup at all) are checked the same way, because the check sits where
aiohttp turns a host into addresses (`TCPConnector._resolve_host`: aiohttp has no
public hook there; tests/test_netguard.py pins the behaviour, so an aiohttp upgrade
that moves it fails loudly). Redirects are followed by bridge/net/fetch.py one hop at a
time, so each hop goes through this check again.

`security.allow_private_addresses = true` lifts the address rule (local testing).
`allowed_networks` makes exceptions to it (an operator's blog on the LAN; tests
faking a "public" host on 127.0.0.1 with an injected resolver). The resolver is a
parameter too, so a caller decides how names are looked up; the check does not change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
# Not covered by the `ipaddress` flags on every Python version, or worth naming.
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: embeds an IPv4 address
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")  # RFC 4193
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, still routed by some


class BlockedAddress(aiohttp.ClientConnectionError):
    """A request to a refused address or scheme: `url`/`host`, the `address`, and why."""

    def __init__(self, host: str, address: str, reason: str, url: str | None = None) -> None:
        where = url or host
        super().__init__(f"{where}: refused {address} ({reason})")
        self.host = host
        self.address = address
        self.reason = reason
        self.url = url


def refusal(address: IPAddress) -> str | None:
    """Why the bridge must not connect to `address`, or None if it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return "IPv4-mapped IPv6 address"  # ::ffff:127.0.0.1 reaches 127.0.0.1
        if address in _NAT64 or address in _NAT64_LOCAL or address.sixtofour or address.teredo:
            return "IPv6 address embedding an IPv4 address"
        if address in _UNIQUE_LOCAL:
            return "unique-local address"
        if address in _SITE_LOCAL:
            return "site-local address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (carrier-grade NAT) address"
    if address.is_private:
        return "private address"
    if address.is_reserved:
        return "reserved address"
    if not address.is_global:
        return "non-global address"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses outbound requests may reach."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def check(self, host: str, address: str, url: str | None = None) -> None:
        """Raise BlockedAddress unless `address` (a resolved `host`) may be reached."""
        if self.allow_private:
            return
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            raise BlockedAddress(host, address, "not an IP address", url) from None
        if any(ip in network for network in self.allowed_networks):
            return
        reason = refusal(ip)
        if reason is not None:
            raise BlockedAddress(host, address, reason, url)


def check_url(url: str) -> None:
    """Raise BlockedAddress unless `url` is an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise BlockedAddress(parts.hostname or "", "", f"scheme {parts.scheme or 'none'!r} is not http(s)", url)
    if not parts.hostname:
        raise BlockedAddress("", "", "no host", url)


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that checks every address before connecting to it."""

    def __init__(self, *, policy: AddressPolicy, resolver: AbstractResolver | None = None, **kwargs: Any) -> None:
        super().__init__(resolver=resolver, **kwargs)
        self.policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Sequence[Any] | None = None) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        if not results:
            raise BlockedAddress(host, "", "the name resolved to no address")
        # All or nothing: a name that resolves to a private address among public ones
        # is refused whole, not used for the public part.
        for result in results:
            self.policy.check(host, result["host"])
        return results


def guarded_connector(
    policy: AddressPolicy, resolver: AbstractResolver | None = None, *, limit_per_host: int = 8, limit: int = 100
) -> GuardedConnector:
    """The connector of the bridge's one outbound session."""
    return GuardedConnector(policy=policy, resolver=resolver, limit_per_host=limit_per_host, limit=limit)
