"""A real HTTP server for tests that serves recorded blog responses at their own URLs.

The WordPress fixtures were captured from http://127.0.0.1:8765/, and the URLs inside
them are absolute, so the server listens on exactly 127.0.0.1:8765: the bridge then
follows the pages' own links (REST API, oEmbed, feed) as it would on a live blog.
Each response is replayed with its recorded status and headers (FILE.headers.txt);
routes come from each theme's manifest.json and core-endpoints/routes.json.
Requests are recorded; `If-None-Match` matching a recorded ETag answers 304, as
WordPress does for feeds. No HTTP client is mocked.
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from multidict import CIMultiDict

FIXTURES = Path(__file__).parent / "fixtures"
WORDPRESS = FIXTURES / "wordpress"
THEMES = ("twentytwentyone", "twentytwentythree")
HOST = "127.0.0.1"
PORT = 8765
BIND_WAIT = 30.0  # seconds to wait for the port while another test run holds it
# Hop-by-hop or recomputed headers that must not be replayed verbatim.
_SKIP = {"transfer-encoding", "content-length", "connection", "date", "server"}


@dataclass
class Route:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    any_query: bool = False


@dataclass
class Recorded:
    path_qs: str
    headers: Mapping[str, str]


def _key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    return parts.path or "/", tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def parse_headers(text: str) -> tuple[int, list[tuple[str, str]]]:
    """A recorded response head ("HTTP/1.1 200 OK" then "Name: value" lines)."""
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() not in _SKIP:
            headers.append((name.strip(), value.strip()))
    return status, headers


def recorded(body_file: Path, headers_file: Path, any_query: bool = False) -> Route:
    status, headers = parse_headers(headers_file.read_text(encoding="utf-8"))
    return Route(status=status, headers=headers, body=body_file.read_bytes(), any_query=any_query)


def wordpress_routes(theme: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], Route]:
    """Every recorded response of the WordPress fixture blog rendered by `theme`."""
    routes = {}
    core = WORDPRESS / "core-endpoints"
    for entry in json.loads((core / "routes.json").read_text())["routes"]:
        routes[_key(entry["url"])] = recorded(core / entry["file"],
                                              core / (entry["file"] + ".headers.txt"),
                                              entry.get("any_query", False))
    folder = WORDPRESS / theme
    for entry in json.loads((folder / "manifest.json").read_text())["files"]:
        routes[_key(entry["url"])] = recorded(folder / entry["file"], folder / entry["headers_file"])
    return routes


@dataclass
class BlogServer:
    """Serves `routes` on 127.0.0.1:8765 until stopped; records every request."""

    routes: dict[tuple[str, tuple[tuple[str, str], ...]], Route]
    disabled_prefixes: tuple[str, ...] = ()  # paths answered 404 ("REST API disabled")
    requests: list[Recorded] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @classmethod
    def wordpress(cls, theme: str, *, disabled_prefixes: Iterable[str] = ()) -> BlogServer:
        return cls(routes=wordpress_routes(theme), disabled_prefixes=tuple(disabled_prefixes))

    @classmethod
    def from_files(cls, files: Mapping[str, tuple[Path | bytes, Mapping[str, str]]]) -> BlogServer:
        """Routes from {url: (file or bytes, headers)}, all answered 200."""
        routes = {}
        for url, (source, headers) in files.items():
            body = source if isinstance(source, bytes) else source.read_bytes()
            routes[_key(url)] = Route(status=200, headers=list(headers.items()), body=body)
        return cls(routes=routes)

    def add(self, url: str, body: bytes, headers: Mapping[str, str], status: int = 200) -> None:
        self.routes[_key(url)] = Route(status=status, headers=list(headers.items()), body=body)

    def paths(self) -> list[str]:
        return [r.path_qs for r in self.requests]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request.path_qs, dict(request.headers)))
        if any(request.path.startswith(p) for p in self.disabled_prefixes):
            return web.Response(status=404, text="disabled")
        route = self.routes.get((request.path, tuple(sorted(request.query.items()))))
        if route is None:
            candidate = self.routes.get((request.path, ()))
            route = candidate if candidate is not None and candidate.any_query else None
        if route is None:
            return web.Response(status=404, text="no such fixture")
        etag = dict((k.lower(), v) for k, v in route.headers).get("etag")
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(status=route.status, body=route.body,
                            headers=CIMultiDict(route.headers))

    async def start(self, wait: float = BIND_WAIT) -> BlogServer:
        """Listen on 127.0.0.1:8765. If another test run on this machine holds the port,
        wait for it (up to `wait` seconds), then fail saying so."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            try:
                await web.TCPSite(self._runner, HOST, PORT).start()
                return self
            except OSError as error:
                if error.errno != errno.EADDRINUSE or asyncio.get_running_loop().time() > deadline:
                    await self._runner.cleanup()
                    raise RuntimeError(
                        f"the blog test server needs {HOST}:{PORT} (the fixtures' own URLs) "
                        f"and cannot bind it: {error}") from error
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def truth() -> dict:
    """tests/fixtures/wordpress/truth.json: what is really in the fixture blog."""
    return json.loads((WORDPRESS / "truth.json").read_text(encoding="utf-8"))


def published_posts() -> list[dict]:
    return [p for p in truth()["posts"] if p["status"] == "publish"]


def paragraphs(html: str) -> list[str]:
    """Top-level paragraphs and lists as text ("a / b / c" for a list), as truth.json has them."""
    from bridge.blog import content

    out = []
    for el in content.fragment(html).find_all(["p", "ul", "ol"]):
        if el.find_parent(["p", "ul", "ol"]):
            continue
        if el.name == "p":
            out.append(" ".join(el.get_text().split()))
        else:
            out.append(" / ".join(" ".join(li.get_text().split()) for li in el.find_all("li")))
    return out
