"""Who wrote a page, and whom a home page is about: the authorship algorithm and the
representative h-card, over a page parsed by bridge/blog/microformats.py. Pure.

https://indieweb.org/authorship-spec and
https://microformats.org/wiki/representative-h-card-parsing; a WordPress post page's
first h-card is a commenter, never the author, so neither rule ever takes "the first one".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bridge.blog.microformats import (
    Mf2Page,
    author_from_value,
    entry_author_property,
    first_value,
    media_values,
    select_entry,
    strings,
)
from bridge.blog.post import Author, Profile, same_url


def entry_author(page: Mf2Page) -> tuple[Author | None, str | None]:
    """The authorship algorithm's first steps (https://indieweb.org/authorship-spec).

    Answers (author, url_to_follow): the h-entry's author (or its h-feed's), and when
    that is only a URL, or there is none, the page to fetch for a representative h-card
    (the author's URL, else the page's rel=author). Never the first h-card on the page:
    on a WordPress post page that is a commenter.
    """
    selected = select_entry(page)
    author = entry_author_property(*selected, page.url) if selected is not None else None
    if author is not None and author.name and author.photo:
        return author, None
    if author is not None and author.url:
        return author, author.url
    rel_author = page._mf2.get("rels", {}).get("author") or []
    return author, (rel_author[0] if rel_author else None)


def _hcards(items: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for item in items:
        if "h-card" in item.get("type", ()):
            yield item
        yield from _hcards(item.get("children", ()))


def representative_hcard(page: Mf2Page) -> Author | None:
    """The page's representative h-card (https://microformats.org/wiki/representative-h-card-parsing).

    1. an h-card whose uid and url are the page; 2. one whose url is a rel=me link;
    3. the only top-level h-card, if its url is the page.
    """
    card = _representative(page)
    return author_from_value(card, page.url) if card is not None else None


def _representative(page: Mf2Page) -> dict[str, Any] | None:
    items = page._mf2.get("items", [])
    me = page._mf2.get("rels", {}).get("me") or []

    def urls(card: dict[str, Any], name: str = "url") -> list[str]:
        return strings(card.get("properties", {}).get(name, ()))

    cards = list(_hcards(items))
    for card in cards:
        if any(same_url(u, page.url) for u in urls(card, "uid")) and any(
                same_url(u, page.url) for u in urls(card)):
            return card
    for card in cards:
        if any(same_url(u, m) for u in urls(card) for m in me):
            return card
    top = [i for i in items if "h-card" in i.get("type", ())]
    if len(top) == 1 and any(same_url(u, page.url) for u in urls(top[0])):
        return top[0]
    return None


def profile_from_mf2(page: Mf2Page) -> Profile | None:
    """The representative h-card as a profile, with the page's rel=me links."""
    me = tuple(dict.fromkeys(page._mf2.get("rels", {}).get("me") or []))
    card = _representative(page)
    if card is None:
        return Profile(links=me, sources={"_": "mf2"}) if me else None
    props = card.get("properties", {})
    photos = media_values(props.get("photo", ()), page.url)
    urls = strings(props.get("url", ()))
    links = tuple(dict.fromkeys([*me, *(u for u in urls[1:] if not same_url(u, page.url))]))
    note = first_value(props, "note")
    return Profile(
        url=urls[0] if urls else page.url,
        name=first_value(props, "name"),
        summary=" ".join(note.split()) if note else None,
        icon=photos[0] if photos else None,
        links=links,
        language=card.get("lang") or None,
        sources={"_": "mf2" if page.soup.find(class_="h-card") else "mf1"},
    )

