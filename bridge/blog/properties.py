"""Reading an h-entry's properties from their elements, where mf2py's values mislead.

mf2py follows the parsing rules to the letter, and two of them give wrong values on real
pages (bridge/blog/microformats.py asks these helpers when the entry's element is known):
- a `u-*` property on an element that carries no URL attribute (a `<p class="u-in-reply-to">`
  holding "In reply to <a href=…>", a `<picture class="u-photo">`, an `<img>` with only a
  srcset) gets the element's *text* resolved against the page's URL: the page's URL with
  words glued on, or the page's URL itself. The element's own link or picture is meant;
- `class="p-name e-content"` on one element makes the whole content the name: a note,
  which has no title (not a title that merely repeats the content's first words).
Pure: BeautifulSoup elements in, strings and values out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

from bs4 import Tag

from bridge.blog.content import attr, image_of, tokens

# mf1 roots that mf2py also reads as nested items inside an mf2 item.
_MF1_ROOTS = frozenset({"hentry", "vcard", "hfeed", "hreview", "hproduct", "hrecipe", "hresume",
                        "vevent", "adr", "geo", "hnews"})
_ROOT = re.compile(r"^h-[a-z0-9]+(-[a-z]+)*$")
_ABSOLUTE = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
# Where mf2py reads a u-* value from before falling back to the text (the mf2 parsing
# rules, "parsing a u- property"): the element's own attribute.
_URL_ATTRIBUTES = {"a": ("href",), "area": ("href",), "link": ("href",), "img": ("src",),
                   "audio": ("src",), "video": ("src", "poster"), "source": ("src",),
                   "iframe": ("src",), "object": ("data",), "abbr": ("title",), "data": ("value",),
                   "input": ("value",)}


def is_root(el: Tag) -> bool:
    """Whether an element is a microformat's root (its own item)."""
    return any(_ROOT.match(c) or c in _MF1_ROOTS for c in tokens(el, "class"))


def own_elements(root: Tag, names: frozenset[str]) -> dict[str, list[Tag]]:
    """The elements of the item `root` carrying each property class in `names`, in
    document order: not those of nested items (an element that is itself a nested item's
    root is the item's property, its inside is not)."""
    found: dict[str, list[Tag]] = {name: [] for name in names}

    def walk(el: Tag) -> Iterator[Tag]:
        for child in el.children:
            if isinstance(child, Tag):
                yield child
                if not is_root(child):
                    yield from walk(child)

    for el in walk(root):
        for name in names.intersection(tokens(el, "class")):
            found[name].append(el)
    return found


def _inside(el: Tag, ancestor: Tag) -> bool:
    return any(parent is ancestor for parent in el.parents)


def name_is_content(names: list[Tag], contents: list[Tag]) -> bool:
    """Whether the entry's p-name element is its e-content element or holds it."""
    return any(n is c or _inside(c, n) for n in names for c in contents)


def has_title_element(names: list[Tag], contents: list[Tag]) -> bool:
    """Whether the entry marks a p-name apart from its content (neither the e-content
    element, nor around it, nor inside it): a real title, even one repeating the content."""
    return any(not (n is c or _inside(c, n) or _inside(n, c)) for n in names for c in contents) or (
        bool(names) and not contents)


def _text(el: Tag) -> str:
    return " ".join(el.get_text().split())


def _from_text(value: str, el: Tag) -> bool:
    """Whether mf2py made `value` up from the element's text: no URL attribute, no
    value-class pattern, and a text that is not the URL as written."""
    if any((attr(el, name) or "").strip() for name in _URL_ATTRIBUTES.get(el.name, ())):
        return False
    if el.find(class_=["value", "value-title"]) is not None:
        return False
    return value != _text(el)


def single_link(el: Tag, base: str) -> str | None:
    """The one link an element holds (several distinct targets: none)."""
    hrefs = {urljoin(base, (attr(a, "href") or "").strip()) for a in el.find_all(["a", "area"], href=True)}
    hrefs = {h for h in hrefs if _ABSOLUTE.match(h)}
    return hrefs.pop() if len(hrefs) == 1 else None


def _picture(el: Tag, base: str) -> dict[str, Any] | None:
    media = image_of(el, base)
    return None if media is None else {"value": media.url, "alt": media.alt or ""}


def repaired(values: list[Any], elements: list[Tag] | None, base: str,
             read: Callable[[Tag, str], Any]) -> list[Any]:
    """A u-* property's values with those mf2py made up from text replaced by what the
    element really holds (`read`: its single link, its picture), or dropped.

    Values are paired with the property's elements when their numbers match (mf2py gives
    one value per element, in order); unpaired, only a value that is no URL at all, or the
    page's own URL, is known to be made up, and is dropped.
    """
    paired = elements if elements is not None and len(elements) == len(values) else None
    out: list[Any] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):  # a nested item (h-cite) or an img with alt: real values
            out.append(value)
            continue
        text = value.strip()
        made_up = not _ABSOLUTE.match(text) or text == base
        if paired is not None:
            el = paired[i]
            if made_up or _from_text(text, el):
                fixed = read(el, base)
                if fixed is not None:
                    out.append(fixed)
                continue
        if not made_up:
            out.append(value)
    return out


def repaired_link(values: list[Any], elements: list[Tag] | None, base: str) -> list[Any]:
    """Response values (in-reply-to, like-of…): the element's single link where made up."""
    return repaired(values, elements, base, single_link)


def repaired_picture(values: list[Any], elements: list[Tag] | None, base: str) -> list[Any]:
    """Photo values (photo, featured): the element's picture where made up."""
    return repaired(values, elements, base, _picture)
