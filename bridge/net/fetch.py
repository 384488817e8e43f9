"""The one way the bridge GETs a blog page, feed or JSON: bounded, conditional, decoded.

Always with the caller's single `aiohttp.ClientSession` (one per application, aiohttp's
own advice). Redirects are followed here, one hop at a time, so the limit is ours and
each hop is checked: its scheme here, its addresses by the session's connector
(bridge/net/guard.py, the same check for every hop). The body
is read in pieces and never past `max_bytes`: a blog page is not allowed to exhaust memory,
whatever its Content-Length says or omits (aiohttp decompresses first, so the cap also
holds against compression bombs).
"""

from __future__ import annotations

import asyncio
import codecs
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from bridge import __version__
from bridge.blog.post import Link
from bridge.core import metrics
from bridge.core.textguard import ascii_digits
from bridge.jobs.retry import Weather
from bridge.net.guard import BlockedAddress, check_url

HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
JSON_ACCEPT = "application/json;q=1.0,*/*;q=0.5"
MAX_BYTES = 5 * 1024 * 1024  # the biggest WordPress pages in the fixtures are ~80 kB
TIMEOUT = 20.0  # seconds for the whole fetch, redirects included
CONNECT_TIMEOUT = 10.0
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# The HTML standard's prescan looks at the first 1024 bytes for <meta charset>
# (https://html.spec.whatwg.org/multipage/parsing.html#prescan-a-byte-stream-to-determine-its-encoding).
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def user_agent(base_url: str | None = None) -> str:
    """The User-Agent of every request: the bridge, its version and the bridge's URL.

    Blog owners read this in their logs; the URL tells them whose bridge it is.
    """
    where = f" (+{base_url})" if base_url else ""
    return f"blog-fediverse-bridge/{__version__}{where}"


class FetchError(Weather):
    """A fetch that failed: `url`, a `reason`, and the HTTP `status` if there was one."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class HTTPStatusError(FetchError):
    """The server answered with an error status (4xx, 5xx). `body` holds its first bytes,
    `headers` its headers (a 401 may carry an `Accept-Signature` challenge)."""

    def __init__(self, url: str, status: int, reason: str, body: bytes = b"",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(url, f"HTTP {status} {reason}".strip(), status)
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else CIMultiDictProxy(CIMultiDict())


class AddressRefused(FetchError):
    """The URL (or a redirect to it) points where the bridge must not go: a private,
    loopback… address, or a scheme other than http(s). See bridge/net/guard.py."""

    def __init__(self, url: str, reason: str, address: str = "") -> None:
        super().__init__(url, f"refused: {reason}" + (f" ({address})" if address else ""))
        self.address = address


class ResponseTooLarge(FetchError):
    """The response is bigger than `limit` bytes; reading stopped there."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(url, f"response larger than {limit} bytes")
        self.limit = limit


class TooManyRedirects(FetchError):
    """More than `limit` redirects; `chain` lists the URLs visited."""

    def __init__(self, url: str, limit: int, chain: tuple[str, ...]) -> None:
        super().__init__(url, f"more than {limit} redirects")
        self.limit = limit
        self.chain = chain


@dataclass(frozen=True)
class FetchResult:
    """A successful GET (2xx), or a 304 (`not_modified`, empty body)."""

    url: str  # the final URL, after redirects
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    not_modified: bool = False
    redirects: tuple[str, ...] = ()  # the URLs that redirected, in order
    links: tuple[Link, ...] = ()  # HTTP Link headers

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified")

    @property
    def charset(self) -> str:
        """The body's encoding: the HTTP header's, else <meta charset>, else UTF-8."""
        return detect_charset(self.headers.get("Content-Type"), self.body)

    @property
    def text(self) -> str:
        """The body decoded with `charset`; undecodable bytes become U+FFFD."""
        return self.body.decode(self.charset, errors="replace")


def _known(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding.strip().strip("\"'")).name
    except LookupError:
        return None


def detect_charset(content_type: str | None, body: bytes) -> str:
    """Charset from the Content-Type header, else a <meta charset> in the first 1024 bytes, else UTF-8."""
    if content_type:
        for param in content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and (found := _known(value)):
                return found
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    match = _META_CHARSET.search(body[:1024])
    if match and (found := _known(match.group(1).decode("ascii", "replace"))):
        # A page that declares UTF-16 in ASCII bytes is not UTF-16 (HTML standard).
        return "utf-8" if found.startswith("utf-16") else found
    return "utf-8"


def parse_link_header(values: Iterable[str], base: str) -> tuple[Link, ...]:
    """Every link of HTTP Link header values (RFC 8288), in order, URLs made absolute.

    Parsed here because aiohttp's `ClientResponse.links` keys links by rel and keeps
    one per rel, and WordPress sends several links with the same rel.
    """
    out = []
    for header in values:
        for part in re.split(r",\s*(?=<)", header):
            match = re.match(r"\s*<([^>]*)>(.*)", part)
            if not match:
                continue
            params: dict[str, str] = {}
            for param in match.group(2).split(";"):
                key, _, value = param.partition("=")
                if key.strip():
                    params[key.strip().lower()] = value.strip().strip('"')
            rels = tuple(params.get("rel", "").split())
            if rels:
                out.append(Link(url=urljoin(base, match.group(1)), rels=rels,
                                type=params.get("type"), title=params.get("title")))
    return tuple(out)


async def _read(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    length = response.headers.get("Content-Length")
    if length and ascii_digits(length) and int(length) > max_bytes:
        raise ResponseTooLarge(url, max_bytes)
    parts: list[bytes] = []
    total = 0
    while True:
        # Never ask for more than one byte past the cap.
        chunk = await response.content.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > max_bytes:
            raise ResponseTooLarge(url, max_bytes)
        parts.append(chunk)


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    max_redirects: int = MAX_REDIRECTS,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = HTML_ACCEPT,
    sign: Callable[[str, Mapping[str, str]], Mapping[str, str]] | None = None,
) -> FetchResult:
    """GET `url` with `session`. Raises FetchError (or a subclass) on any failure.

    `etag`/`last_modified` make it conditional: a 304 gives `not_modified=True`.
    `timeout` bounds the whole fetch, every redirect included. `sign(url, headers)`,
    when given, returns the headers to send for each hop (a signed GET signs every
    hop for its own URL, at the moment it is sent). Only http(s) URLs are followed;
    the session's connector checks every address (bridge/net/guard.py).
    """
    headers: dict[str, str] = {"Accept": accept}
    if "User-Agent" not in session.headers:
        headers["User-Agent"] = user_agent()
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    per_request = aiohttp.ClientTimeout(total=None, connect=connect_timeout,
                                        sock_connect=connect_timeout)
    chain: list[str] = []
    current = url
    started = time.monotonic()
    outcome = "error"
    try:
        async with asyncio.timeout(timeout):
            while True:
                check_url(current)
                hop_headers = dict(sign(current, headers)) if sign else headers
                async with session.get(current, headers=hop_headers, allow_redirects=False,
                                       timeout=per_request) as response:
                    location = response.headers.get("Location")
                    if response.status in _REDIRECTS and location:
                        chain.append(current)
                        if len(chain) > max_redirects:
                            raise TooManyRedirects(url, max_redirects, tuple(chain))
                        current = urljoin(current, location)
                        continue
                    result_headers = CIMultiDictProxy(CIMultiDict(response.headers))
                    links = parse_link_header(response.headers.getall("Link", ()), current)
                    if response.status == 304:
                        outcome = "ok"
                        return FetchResult(url=current, status=304, headers=result_headers,
                                           body=b"", not_modified=True, redirects=tuple(chain),
                                           links=links)
                    if not 200 <= response.status < 300:
                        body = await response.content.read(1024)
                        raise HTTPStatusError(current, response.status, response.reason or "", body,
                                              CIMultiDictProxy(CIMultiDict(response.headers)))
                    body = await _read(response, current, max_bytes)
                    outcome = "ok"
                    return FetchResult(url=current, status=response.status, headers=result_headers,
                                       body=body, redirects=tuple(chain), links=links)
    except BlockedAddress as error:
        raise AddressRefused(current, error.reason, error.address) from error
    except TimeoutError as error:  # ours (asyncio.timeout) or aiohttp's connect timeout
        raise FetchError(current, f"timeout after {timeout:g} s") from error
    except aiohttp.ClientError as error:
        raise FetchError(current, f"{type(error).__name__}: {error}") from error
    except ValueError as error:  # an unparseable URL or Location
        raise FetchError(current, f"bad URL: {error}") from error
    finally:
        metrics.FETCH_SECONDS.observe(time.monotonic() - started, outcome=outcome)

