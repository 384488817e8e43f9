"""Fixes for what legacy microformats (mf1: hentry, entry-title…) get wrong on real blogs.

mf2py reads mf1 through its backcompat rules; these helpers look at the entry's element
itself for what those rules lose. Each was found on WordPress's classic theme Twenty
Twenty-One (tests/fixtures/wordpress/twentytwentyone/manifest.json, "findings"), whose
markup comes from the _s starter theme that most classic themes share:
- `rel=tag` backcompat gives URL slugs ("machine-learning"); the links' text is the
  name, and `rel="category tag"` (a category) differs from `rel="tag"` (a tag);
- `<time class="entry-date published updated">` puts both classes on one element, so
  "updated" is always the publication date, even for an edited post;
- no `rel=bookmark`: the permalink is the `entry-title` link (the hAtom convention).
Pure: BeautifulSoup elements in, strings out. Used by bridge/blog/microformats.py only.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from bridge.blog.content import attr, tokens


def classes(el: Tag) -> list[str]:
    return tokens(el, "class")


def _rels(el: Tag) -> list[str]:
    return tokens(el, "rel")


def terms(el: Tag) -> tuple[list[str], list[str]]:
    """The visible names of the entry's rel=tag links: (categories, tags)."""
    categories: list[str] = []
    tags: list[str] = []
    for a in el.find_all("a", href=True):
        rels = _rels(a)
        if "tag" not in rels:
            continue
        name = " ".join(a.get_text().split())
        target = categories if "category" in rels else tags
        if name and name not in target:
            target.append(name)
    return categories, tags


def updated_is_published(el: Tag) -> bool:
    """Whether one element of the entry is both "published" and "updated"."""
    return any({"published", "updated"} <= set(classes(t)) for t in el.find_all(class_="updated"))


def permalink(el: Tag, base: str) -> str | None:
    """The link inside the entry's `entry-title`, if any."""
    title = el.find(class_="entry-title")
    link = title.find("a", href=True) if isinstance(title, Tag) else None
    href = attr(link, "href") if isinstance(link, Tag) else None
    return urljoin(base, href) if href else None


def slug_names(soup: BeautifulSoup) -> dict[str, str]:
    """rel=tag URL slug -> the link's text, over the whole page (when the entry's element
    cannot be found)."""
    out: dict[str, str] = {}
    for a in soup.find_all("a", href=True):
        if "tag" in _rels(a):
            slug = urlsplit(attr(a, "href") or "").path.rstrip("/").rsplit("/", 1)[-1]
            name = " ".join(a.get_text().split())
            if slug and name:
                out.setdefault(slug, name)
    return out


def fix(el: Tag | None, soup: BeautifulSoup, base: str, categories: list[str],
        updated: datetime | None, url: str | None
        ) -> tuple[list[str], list[str], datetime | None, str | None]:
    """An mf1 entry's (categories, tags, updated, url) after the fixes above."""
    if el is None:
        slugs = slug_names(soup)
        return [slugs.get(c, c) for c in categories], [], updated, url
    names, tags = terms(el)
    if names or tags:
        categories = names
    if updated is not None and updated_is_published(el):
        updated = None
    return categories, tags, updated, url or permalink(el, base)


def has_explicit_name(el: Tag) -> bool:
    """Whether an mf2 entry marks its name (p-name) rather than leaving it implied."""
    return "p-name" in classes(el) or el.find(class_="p-name") is not None
