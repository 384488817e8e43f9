"""What the stand-in WordPress blog (tests/wpblog.py) does with a webmention's source, as the
Webmention plugin 5.3.3 does it: the link check (a substring search in the entity-decoded HTML),
the MF2 handler (mf2py finds the h-entry that refers to the target, its type, author and content),
WordPress's comment filter on the update path, and Link header parsing for discovery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import mf2py  # type: ignore[import-untyped]
from bs4 import BeautifulSoup
from bs4.element import AttributeValueList

from tests import wpblog_pages as pages

MAX_INLINE_MENTION_LENGTH = 300  # the plugin's limit for a mention kept whole as a comment
# The tags WordPress's comment filter (wp_filter_kses, $allowedtags) keeps, with their attributes.
KSES = {"a": {"href", "title"}, "abbr": {"title"}, "acronym": {"title"}, "b": set(), "blockquote": {"cite"},
        "cite": set(), "code": set(), "del": {"datetime"}, "em": set(), "i": set(), "q": {"cite"}, "s": set(),
        "strike": set(), "strong": set()}
# Added next to every u-url before parsing, so an explicit u-url can be told from mf2py's implied one.
EXPLICIT = "x-wpblog-explicit-url"
_SPECIAL = {"amp": "&", "quot": '"', "lt": "<", "gt": ">"}


@dataclass
class Parsed:
    """What the plugin makes of a source: the fields a comment is written from."""
    type: str
    author: str
    author_url: str
    content: str
    published: datetime | None
    url: str
    avatar: str = ""


def htmlspecialchars_decode(text: str) -> str:
    """PHP's htmlspecialchars_decode (ENT_QUOTES): only &amp; &quot; &lt; &gt; and numeric &, ", ', <, >."""
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _SPECIAL:
            return _SPECIAL[name]
        code = int("0" + name[1:].lower(), 0) if name[1:2] in "xX" else int(name[1:])
        return chr(code) if code in (34, 38, 39, 60, 62) else m.group(0)
    return re.sub(r"&(amp|quot|lt|gt|#[0-9]+|#[xX][0-9a-fA-F]+);", one, text)


def link_needle(target: str) -> str:
    """The plugin's needle: the target without fragment, trailing slashes, scheme and `www.`."""
    needle = re.sub(r"#.*", "", target).rstrip("/\\")
    for prefix in ("http://www.", "http://", "https://www.", "https://"):
        needle = needle.replace(prefix, "")
    return needle


def same_url(value: str, target: str) -> bool:
    """Ignoring scheme, fragment and a trailing slash; `value` may lack the target's query."""
    def norm(url: str, query: bool) -> str:
        u = urlsplit(url.strip())
        return u.netloc.lower() + u.path.rstrip("/") + (f"?{u.query}" if query and u.query else "")
    return norm(value, True) in (norm(target, True), norm(target, False))


def kses(html: str) -> str:
    """Keep only the KSES tags (and their allowed attributes); other tags go, their text stays."""
    out: list[str] = []

    class Filter(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in KSES:
                kept = "".join(f' {k}="{escape(v or "")}"' for k, v in attrs if k in KSES[tag])
                out.append(f"<{tag}{kept}>")

        def handle_endtag(self, tag: str) -> None:
            if tag in KSES:
                out.append(f"</{tag}>")

        def handle_data(self, data: str) -> None:
            out.append(escape(data, quote=False))

    f = Filter(convert_charrefs=True)
    f.feed(html)
    f.close()
    return "".join(out)


def first(values: list[Any] | None) -> Any:
    return values[0] if values else None


def url_value(value: Any) -> str:
    """A u-* value: a string, an img with alt ({value, alt}), or an embedded h-* (its url or value)."""
    if isinstance(value, dict):
        return str(first(value.get("properties", {}).get("url")) or value.get("value") or "")
    return str(value or "")


def refers_to(item: dict[str, Any], target: str) -> bool:
    """Whether an h-entry names the target in a property, a nested h-*, or a link in its content."""
    for values in item.get("properties", {}).values():
        for v in values:
            if isinstance(v, str) and same_url(v, target):
                return True
            if isinstance(v, dict) and "type" in v and any(same_url(url_value(u), target) for u in
                                                          v.get("properties", {}).get("url", [])):
                return True
            if isinstance(v, dict) and "html" in v and any(
                    same_url(str(el.get("href") or ""), target)
                    for el in BeautifulSoup(v["html"], "html.parser").find_all("a", href=True)):
                return True
    return False


def parse_date(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def parse_source(html: str, source: str, target: str) -> Parsed:
    """The plugin's MF2 handler: the h-entry that refers to the target, its type, author and content."""
    soup = BeautifulSoup(html, "lxml")
    for el in soup.select(".u-url"):
        el["class"] = AttributeValueList([*el.get_attribute_list("class"), f"u-{EXPLICIT}"])
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    items = mf2py.parse(doc=soup, url=source)["items"]
    if items and "h-feed" in items[0]["type"]:
        items = items[0].get("children", [])
    entry = next((i for i in items if "h-entry" in i["type"] and refers_to(i, target)), None)
    host = (urlsplit(source).hostname or "").removeprefix("www.")
    if entry is None:  # no h-entry: the plugin's fallback handlers name the site
        return Parsed("mention", host, source, title, None, source)
    props: dict[str, list[Any]] = entry["properties"]
    kind = "mention"
    for prop, name in (("in-reply-to", "comment"), ("like-of", "like"), ("repost-of", "repost")):
        if any(same_url(url_value(v), target) for v in props.get(prop, [])):
            kind = name
            break
    raw = first(props.get("content"))
    content = raw.get("html", "") if isinstance(raw, dict) else escape(str(raw or ""))
    length = len(pages.text_of(content))
    if kind == "mention" and 0 < length <= MAX_INLINE_MENTION_LENGTH:
        kind = "comment"
    if kind in ("like", "repost"):
        content = title
    elif kind == "mention" and length:
        content = str(first(props.get("summary")) or pages.excerpt(content))
    elif not length:
        content = escape(str(first(props.get("summary")) or first(props.get("name")) or ""))
    author, author_url, avatar = host, source, ""
    card = next((c for c in props.get("author", []) if isinstance(c, dict) and "h-card" in c.get("type", [])), None)
    if card is not None:
        cp = card.get("properties", {})
        author = str(first(cp.get("name")) or host).strip()
        author_url = str(first(cp.get(EXPLICIT)) or source)
        avatar = url_value(first(cp.get("photo")))
    elif isinstance(first(props.get("author")), str) and not str(props["author"][0]).startswith("http"):
        author = props["author"][0].strip()
    return Parsed(kind, author, author_url, content, parse_date(first(props.get("published"))),
                  str(first(props.get(EXPLICIT)) or source), avatar)


def link_rels(header: str) -> list[tuple[str, list[str]]]:
    """A Link header's (URL, rels) pairs."""
    pairs = []
    for m in re.finditer(r"<([^>]*)>((?:\s*;[^,<]*)*)", header):
        rel = re.search(r'rel\s*=\s*"?([^";]*)"?', m.group(2))
        pairs.append((m.group(1), rel.group(1).lower().split() if rel else []))
    return pairs
