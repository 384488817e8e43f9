"""Webmention endpoint discovery (W3C Webmention §3.1.2), as a pure function of what the
target's fetch returned: its final URL after redirects, its `Link` headers and its HTML.

The spec's order: the first HTTP `Link` header with `rel` containing `webmention`, else the
first `<link>` or `<a>` element in document order whose `rel` contains it. Relative URLs
are resolved against the final URL (webmention.rocks #23: after redirects); an empty
`href` is the page itself; a query string is kept as it is; the first candidate that is
no URL at all (a malformed IPv6 host) means no endpoint. The HTML is read by a real
tokenizer (the stdlib's), so markup in comments, in `<script>`/`<style>` text or written
as escaped text, or inside text-only elements (`<textarea>`, `<title>`…) is not markup
and is never taken.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urljoin

REL = "webmention"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# The HTML standard's raw text and escapable raw text elements (script and style the
# stdlib parser knows already): their content is text, never tags.
_TEXT_ONLY = frozenset({"textarea", "title", "xmp", "iframe", "noembed", "noframes"})


def rels(value: str | None) -> list[str]:
    """A `rel` attribute's tokens, lower-cased (rel is an ASCII-case-insensitive set)."""
    return [token.lower() for token in (value or "").split()]


def _resolve(base: str, href: str) -> str | None:
    """`href` made absolute against `base`; None when it is no URL at all (`http://[zz]/`:
    urljoin raises ValueError on a malformed IPv6 host)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _from_link_headers(values: Iterable[str], base: str) -> str | None:
    for header in values:
        # Each link-value: <uri-reference> followed by ;-separated params (RFC 8288 §3).
        for match in re.finditer(r'<([^>]*)>((?:\s*;\s*[^;,]+(?:="[^"]*"|=[^;,]*)?)*)', header):
            for param in re.finditer(r';\s*([^\s=;,]+)\s*(?:=\s*("[^"]*"|[^;,]*))?', match.group(2)):
                if param.group(1).lower() == "rel" and REL in rels((param.group(2) or "").strip('"')):
                    return _resolve(base, match.group(1).strip())
    return None


class _FirstWebmentionLink(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _TEXT_ONLY:
            self.set_cdata_mode(tag)  # what looks like a tag inside is text, up to its end tag
            return
        self._consider(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._consider(tag, attrs)

    def _consider(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.href is not None or tag not in ("link", "a"):
            return
        values = dict(attrs)
        if "href" in values and REL in rels(values.get("rel")):
            self.href = (values["href"] or "").strip()


def _from_html(html: str, base: str) -> str | None:
    parser = _FirstWebmentionLink()
    parser.feed(html)
    parser.close()
    return None if parser.href is None else _resolve(base, parser.href)


def discover_endpoint(final_url: str, link_headers: Iterable[str], html: str | None,
                      content_type: str | None = "text/html") -> str | None:
    """The webmention endpoint a target advertises, absolute; None when it has none."""
    endpoint = _from_link_headers(link_headers, final_url)
    if endpoint is not None:
        return endpoint
    if html is None or (content_type or "text/html").split(";")[0].strip().lower() not in _HTML_TYPES:
        return None
    return _from_html(html, final_url)
