"""HTML, RSS and REST JSON of the stand-in WordPress blog (tests/wpblog.py).

The markup follows what WordPress 6.1 with the Webmention plugin 5.3.3 serves through the
Twenty Twenty-One theme (tests/fixtures/wordpress/twentytwentyone/), with the microformats
classes a theme that supports them adds (`h-entry`, `p-name`, `e-content`, ...). The blog's
time zone is UTC, so "local" and GMT times are the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.wpblog import Comment, Post

BLOG_NAME = "Binge Learner"
BLOG_DESCRIPTION = "Notes from a thrill-seeking binge-learner"
WP_VERSION = "6.1.9"
_BLOCK = re.compile(r"^\s*<(p|div|blockquote|ul|ol|pre|h[1-6]|figure|table)\b", re.IGNORECASE)
REACTIONS = {"mention": "Mentions", "repost": "Reposts", "like": "Likes"}


def a(value: str) -> str:
    """An attribute value, escaped."""
    return escape(value, quote=True)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def human(when: datetime) -> str:
    """WordPress's "F j, Y at g:i a"."""
    hour = when.hour % 12 or 12
    return f"{when:%B} {when.day}, {when.year} at {hour}:{when:%M} {'am' if when.hour < 12 else 'pm'}"


def text_of(html: str) -> str:
    """wp_strip_all_tags: tags removed (not replaced by spaces), whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]*>", "", html).split())


def excerpt(html: str, words: int = 55) -> str:
    """wp_trim_excerpt: the text's first 55 words, then " [&hellip;]" if there were more."""
    parts = text_of(html).split()
    return " ".join(parts[:words]) + (" [&hellip;]" if len(parts) > words else "")


def autop(html: str) -> str:
    """What wpautop does to one paragraph of comment text: wrap it in <p> unless it is a block."""
    return html if _BLOCK.match(html) else f"<p>{html}</p>"


def head(origin: str, title: str, extra: str = "") -> str:
    feed = f"{origin}/feed/"
    return (f'<!doctype html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8" />\n'
            f"<title>{title}</title>\n"
            f'<link rel="alternate" type="application/rss+xml" title="{BLOG_NAME} &raquo; Feed" href="{feed}" />\n'
            f'<link rel="https://api.w.org/" href="{origin}/wp-json/" />\n{extra}</head>\n')


def site_header(origin: str) -> str:
    return (f'<header id="masthead" class="site-header"><p class="site-title">'
            f'<a href="{origin}/">{BLOG_NAME}</a></p>'
            f'<p class="site-description">{BLOG_DESCRIPTION}</p></header>\n')


def home(origin: str, posts: Iterable[Post]) -> str:
    """The home page: a list of posts (no h-entry, no webmention endpoint)."""
    items = "".join(
        f'<article id="post-{p.id}" class="post-{p.id} post type-post status-publish hentry">'
        f'<h2 class="entry-title"><a href="{a(p.permalink)}">{p.title}</a></h2>'
        f'<div class="entry-content">{p.content_html}</div></article>\n' for p in posts)
    return (head(origin, f"{BLOG_NAME} &#8211; {BLOG_DESCRIPTION}") + '<body class="home blog">\n'
            + site_header(origin) + f'<main id="main" class="site-main">\n{items}</main>\n</body>\n</html>\n')


def not_found(origin: str) -> str:
    return (head(origin, f"Page not found &#8211; {BLOG_NAME}") + '<body class="error404">\n' + site_header(origin)
            + '<main id="main"><h1 class="page-title">Nothing here</h1></main>\n</body>\n</html>\n')


def discovery_links(origin: str, post: Post, endpoint: str) -> str:
    return (f'<link rel="alternate" type="application/json" href="{origin}/wp-json/wp/v2/posts/{post.id}" />\n'
            f'<link rel="webmention" href="{endpoint}" />\n'
            f'<link rel="http://webmention.org/" href="{endpoint}" />\n'
            f'<link rel="canonical" href="{a(post.permalink)}" />\n'
            f"<link rel='shortlink' href='{origin}/?p={post.id}' />\n")


def author_card(comment: Comment) -> str:
    photo = comment.meta.get("avatar", "")
    img = (f"<img alt='' src='{a(photo)}' class='avatar avatar-60 photo u-photo' height='60' width='60' "
           "loading='lazy' decoding='async'/>") if photo else ""
    name = escape(comment.author)
    if comment.author_url:
        name = f"<a href='{a(comment.author_url)}' rel='external nofollow ugc' class='url u-url p-name'>{name}</a>"
    else:
        name = f'<span class="p-name">{name}</span>'
    return f'{img}<b class="fn">{name}</b> <span class="says">says:</span>'


def comment_item(post: Post, comment: Comment, children: dict[int, list[Comment]], depth: int) -> str:
    """One comment as Twenty Twenty-One's walker renders it; webmentions are marked up as h-cite."""
    cid = comment.id
    classes = f"comment {'even' if depth % 2 else 'odd'} depth-{depth}"
    remote = comment.meta.get("webmention_source_url", "")
    if comment.by_blogger:
        classes = "comment byuser comment-author-1 bypostauthor " + classes.removeprefix("comment ")
    own_link = f"{post.permalink}#comment-{cid}"
    when = comment.date_gmt
    time = (f'<time class="dt-published" datetime="{iso(when)}">{human(when)}</time>' if when else "")
    body_class = "comment-body h-cite p-comment" if remote else "comment-body"
    card_class = "comment-author vcard h-card u-author" if remote else "comment-author vcard"
    link_class = ' class="u-url"' if remote else ""
    kids = children.get(cid, [])
    nested = ('<ol class="children">\n' + "".join(comment_item(post, c, children, depth + 1) for c in kids)
              + "</ol>\n") if kids else ""
    return (f'<li id="comment-{cid}" class="{classes}{" parent" if kids else ""}">\n'
            f'<article id="div-comment-{cid}" class="{body_class}">\n'
            f'<footer class="comment-meta"><div class="{card_class}">{author_card(comment)}</div>\n'
            f'<div class="comment-metadata"><a{link_class} href="{a(remote or own_link)}">{time}</a></div>'
            "</footer>\n"
            f'<div class="comment-content{" e-content p-name" if remote else ""}">{autop(comment.content)}</div>\n'
            f"<div class=\"reply\"><a rel='nofollow' class='comment-reply-link' "
            f"href='{a(post.permalink)}?replytocom={cid}#respond' data-commentid=\"{cid}\" "
            f'data-postid="{post.id}">Reply</a></div>\n'
            f"</article>\n{nested}</li>\n")


def facepile(kind: str, reactions: list[Comment], origin: str) -> str:
    """The plugin's reaction list: avatars linking to the author URL, no text."""
    default = f"{origin}/wp-content/plugins/webmention/assets/img/mm.jpg"
    items = "".join(
        f'<li id="comment-{c.id}" class="{kind} depth-1 p-{kind} h-cite avatar-only">'
        f'<div class="comment-body"><span class="p-author h-card">'
        f'<a class="u-url" title="" href="{a(c.author_url)}">'
        f"<img alt='' src='{a(c.meta.get('avatar') or default)}' class='avatar avatar-64 photo u-photo' "
        f"height='64' width='64'/></a>"
        f'<span class="hide-name p-name">{escape(c.author)}</span></span></div></li>\n' for c in reactions)
    return (f'<ul class="reactions reaction-list reaction-list--{kind}">\n<h2>{REACTIONS[kind]}</h2>\n'
            f"{items}</ul>\n")


def comments_area(origin: str, post: Post, approved: list[Comment], endpoint: str) -> str:
    threaded = [c for c in approved if c.type not in REACTIONS]
    ids = {c.id for c in threaded}
    children: dict[int, list[Comment]] = {}
    for c in threaded:
        if c.parent in ids:
            children.setdefault(c.parent, []).append(c)
    top = [c for c in threaded if c.parent == 0]
    out = '<div id="comments" class="comments-area default-max-width show-avatars">\n'
    if approved:
        n = len(approved)
        out += f'<h2 class="comments-title">{n} comment{"s" if n != 1 else ""}</h2>\n'
    if top:
        out += ('<ol class="comment-list">\n' + "".join(comment_item(post, c, children, 1) for c in top)
                + "</ol>\n")
    for kind in REACTIONS:
        reactions = [c for c in approved if c.type == kind]
        if reactions:
            out += facepile(kind, reactions, origin)
    return out + (f'<form id="webmention-form" action="{endpoint}" method="post">'
                  '<p><input id="webmention-source" type="url" name="source" /></p>'
                  '<p><input id="webmention-submit" type="submit" name="submit" value="Ping me!" /></p>'
                  '<input id="webmention-format" type="hidden" name="format" value="html" />'
                  f'<input id="webmention-target" type="hidden" name="target" value="{a(post.permalink)}" />'
                  "</form>\n</div><!-- #comments -->\n")


def post_page(origin: str, post: Post, approved: list[Comment], endpoint: str) -> str:
    """A single post: an h-entry with its author's h-card, then its approved comments."""
    pub = post.published
    return (head(origin, f"{post.title} &#8211; {BLOG_NAME}", discovery_links(origin, post, endpoint))
            + f'<body class="post-template-default single single-post postid-{post.id}">\n'
            + site_header(origin) + '<main id="main" class="site-main">\n'
            f'<article id="post-{post.id}" class="post-{post.id} post type-post status-publish hentry h-entry">\n'
            f'<header class="entry-header"><h1 class="entry-title p-name">{post.title}</h1></header>\n'
            f'<div class="entry-content e-content">\n{post.content_html}\n</div>\n'
            '<footer class="entry-footer default-max-width"><div class="posted-by">'
            f'<span class="posted-on">Published <a class="u-url" href="{a(post.permalink)}">'
            f'<time class="entry-date published updated dt-published" datetime="{iso(pub)}">'
            f"{pub:%B} {pub.day}, {pub.year}</time></a></span> "
            f'<span class="byline">By <span class="author p-author h-card">'
            f'<a class="u-url url fn p-name" href="{origin}/" rel="author">{escape(post.author)}</a>'
            "</span></span></div></footer>\n"
            f"</article><!-- #post-{post.id} -->\n"
            + comments_area(origin, post, approved, endpoint) + "</main>\n</body>\n</html>\n")


def reply_page(origin: str, post: Post, comment: Comment, parent: Comment | None, endpoint: str) -> str:
    """The plugin's templates/webmention-comment.php for `PERMALINK?replytocom=ID`."""
    target = comment.author_url
    if parent is not None and parent.author_url:
        target = parent.author_url
    go = f"{post.permalink}#comment-{comment.id}"
    when = comment.date_gmt or post.published
    name = escape(comment.author)
    if comment.author_url:
        name = f"<a href='{a(comment.author_url)}' rel='external nofollow ugc' class='url u-url'>{name}</a>"
    reply = (f'<li><a href="{a(target)}" rel="in-reply-to" class="u-in-reply-to u-reply-of">{escape(target)}</a></li>'
             if target else "")
    script = f'<script type="text/javascript">\n<!--\nwindow.location = "{go}";\n//–>\n</script>\n'
    return (head(origin, f"{post.title} &#8211; {BLOG_NAME}", discovery_links(origin, post, endpoint) + script)
            + f'<body class="post-template-default single single-post postid-{post.id} h-entry">\n'
            f'<div id="page">\n<article id="comment-{comment.id}">\n'
            f'<div class="e-content p-summary p-name">{autop(comment.content)}</div>\n'
            f'<footer class="entry-meta">\n<address class="p-author h-card">'
            f'<cite class="p-name">{name}</cite></address><!-- .comment-author .vcard -->\n'
            f'<a href="{a(go)}"><time datetime="{iso(when)}" class="dt-published dt-updated published updated">'
            f"{human(when)}</time></a>\n<ul>{reply}</ul>\n</footer>\n</article>\n</div>\n</body>\n</html>\n")


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def feed(origin: str, posts: list[Post], build: datetime) -> str:
    """RSS 2.0 as wp-includes/feed-rss2.php writes it."""
    items = "".join(
        f"\t<item>\n\t\t<title>{p.title}</title>\n\t\t<link>{a(p.permalink)}</link>\n"
        f"\t\t<comments>{a(p.permalink)}#respond</comments>\n"
        f"\t\t<dc:creator>{cdata(p.author)}</dc:creator>\n"
        f"\t\t<pubDate>{format_datetime(p.published)}</pubDate>\n"
        f"\t\t<category>{cdata('Uncategorized')}</category>\n"
        f'\t\t<guid isPermaLink="false">{origin}/?p={p.id}</guid>\n'
        f"\t\t<description>{cdata(excerpt(p.content_html))}</description>\n"
        f"\t\t<content:encoded>{cdata(p.content_html)}</content:encoded>\n"
        f"\t\t<wfw:commentRss>{a(p.permalink)}feed/</wfw:commentRss>\n"
        "\t</item>\n" for p in posts)
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
            '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
            '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
            '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
            '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
            '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n\t>\n\n<channel>\n'
            f"\t<title>{BLOG_NAME}</title>\n"
            f'\t<atom:link href="{origin}/feed/" rel="self" type="application/rss+xml" />\n'
            f"\t<link>{origin}</link>\n\t<description>{BLOG_DESCRIPTION}</description>\n"
            f"\t<lastBuildDate>{format_datetime(build)}</lastBuildDate>\n\t<language>en-US</language>\n"
            f"\t<generator>https://wordpress.org/?v={WP_VERSION}</generator>\n{items}</channel>\n</rss>\n")


def rest_post(origin: str, post: Post) -> dict[str, Any]:
    """GET /wp-json/wp/v2/posts/ID for a published post (dates without offset, as WordPress gives them)."""
    def naive(when: datetime) -> str:
        return when.replace(tzinfo=None).isoformat(timespec="seconds")

    return {
        "id": post.id, "date": naive(post.published), "date_gmt": naive(post.published),
        "guid": {"rendered": f"{origin}/?p={post.id}"},
        "modified": naive(post.modified), "modified_gmt": naive(post.modified),
        "slug": post.slug, "status": "publish", "type": "post", "link": post.permalink,
        "title": {"rendered": post.title},
        "content": {"rendered": post.content_html + "\n", "protected": False},
        "excerpt": {"rendered": f"<p>{excerpt(post.content_html)}</p>\n", "protected": False},
        "author": 1, "featured_media": 0, "comment_status": "open",
        "ping_status": "open" if post.pings_open else "closed", "sticky": False, "template": "",
        "format": "standard", "meta": [], "categories": [1], "tags": [],
        "_links": {"self": [{"href": f"{origin}/wp-json/wp/v2/posts/{post.id}"}],
                   "author": [{"embeddable": True, "href": f"{origin}/wp-json/wp/v2/users/1"}],
                   "replies": [{"embeddable": True, "href": f"{origin}/wp-json/wp/v2/comments?post={post.id}"}]},
    }


def endpoint_form(endpoint: str) -> str:
    """What the plugin answers a GET of its endpoint: a form."""
    return (f'<!DOCTYPE html>\n<html><body><form id="webmention-form" action="{endpoint}" method="post">'
            '<p><input type="url" name="source" /></p><p><input type="url" name="target" /></p>'
            '<p><input type="submit" value="Ping me!" /></p></form></body></html>\n')
