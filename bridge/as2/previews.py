"""How a post is folded, previewed and warned about: content warnings, FEP-b2b8 previews of
Articles, FEP-8967 link previews on Notes.

Pure: the object made by bridge/as2/posts.py `post_to_as2` in, the same object with these
added. What each consumer does with them:
- **Sensitive** (a category or tag the operator names in `sensitive_labels`): `sensitive`
  hides the pictures; on a Note, `summary` is the content warning that folds the text
  (Mastodon's spoiler_text). Mastodon takes no warning from an Article (a converted type:
  its `summary` is the excerpt), so an Article keeps its excerpt and its `preview` carries
  the warning.
- **Article `preview`** (FEP-b2b8, as Ghost sends it): a short Note-like rendering (title,
  excerpt, link, the featured image) for servers that show notes only.
- **A Note's link preview** (FEP-8967, read by Mastodon 4.5+): the post's permalink as a
  `Link` attachment, so the card is the blog post's and not the first link in the text, with
  the publisher's own `preview` (title, excerpt, image) for consumers that trust it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.as2.posts import IMAGE_TYPES, excerpt, media_type
from bridge.blog.post import Post


def content_warning(post: Post, labels: Iterable[str]) -> str | None:
    """The first of the post's categories and tags that the operator marked sensitive, as
    the post spells it; None when the post is not sensitive."""
    wanted = {label.casefold() for label in labels}
    if not wanted:
        return None
    return next((name for name in post.all_categories() if name.casefold() in wanted), None)


def _image(post: Post) -> dict[str, Any] | None:
    for media in post.images():
        mime = media_type(media)
        if mime in IMAGE_TYPES and media.url.startswith(("http://", "https://")):
            image: dict[str, Any] = {"type": "Image", "url": media.url, "mediaType": mime}
            if media.alt:
                image["name"] = media.alt
            return image
    return None


def article_preview(obj: Mapping[str, Any], post: Post, warning: str | None) -> dict[str, Any]:
    """An Article's `preview`: a Note with its title, excerpt and link (FEP-b2b8)."""
    parts = [f"<p><strong>{html.escape(post.title)}</strong></p>"] if post.title else []
    if summary := obj.get("summary"):
        parts.append(f"<p>{summary}</p>")
    if post.url:
        parts.append(f'<p><a href="{html.escape(post.url)}">{html.escape(post.url)}</a></p>')
    preview: dict[str, Any] = {"type": "Note", "attributedTo": obj["attributedTo"], "content": "".join(parts)}
    if warning:
        preview["summary"] = html.escape(warning, quote=False)
    preview["sensitive"] = bool(warning)
    if image := _image(post):
        preview["attachment"] = [image]
    return preview


def link_preview(post: Post) -> dict[str, Any] | None:
    """The permalink as an attached `Link` with the publisher's preview (FEP-8967)."""
    if not post.url:
        return None
    card: dict[str, Any] = {"type": "Article"}
    if post.title:
        card["name"] = post.title
    if summary := excerpt(post):
        card["summary"] = summary
    if image := _image(post):
        card["image"] = image
    link: dict[str, Any] = {"type": "Link", "href": post.url, "mediaType": "text/html"}
    if post.title:
        link["name"] = post.title
    link["preview"] = card
    return link


def dress(obj: dict[str, Any], post: Post, *, sensitive_labels: Iterable[str] = ()) -> dict[str, Any]:
    """Add the warning and the previews to a post's object (in place; returned)."""
    warning = content_warning(post, sensitive_labels)
    if warning:
        obj["sensitive"] = True
        if obj["type"] == "Note":
            obj["summary"] = html.escape(warning, quote=False)
    if obj["type"] == "Article":
        obj["preview"] = article_preview(obj, post, warning)
        if image := _image(post):
            obj["image"] = image  # FEP-b2b8: the representative image
    elif link := link_preview(post):
        obj["attachment"] = [*obj.get("attachment", []), link]
    return obj
