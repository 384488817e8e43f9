"""The page's visible markup as a source (bridge/blog/article.py): small hand-written pages
in the shapes of real engines (Hugo, Ghost, Jekyll's microdata, old hand-made HTML), and
the recorded WordPress pages against truth.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from bridge.blog import article, chrome, content, microformats
from bridge.blog.post import SOURCES, Author, Media, Post
from tests.blogserver import paragraphs

WP = Path(__file__).parent / "fixtures" / "wordpress"


def read(html: str, url: str) -> Post:
    """post_from_html on a fresh tree, checking that the shared tree is left as it was."""
    soup = BeautifulSoup(html, "lxml")
    before = str(soup)
    post = article.post_from_html(soup, url)
    assert str(soup) == before  # the tree is mf2py's and metaformats' too: never changed
    assert post.sources == {"_": "html"} and post.empty == frozenset()
    return post


HUGO = """<!doctype html><html><head><title>Ferns I have known | Jo</title></head><body>
<header class="header"><nav><a href="/">Jo's site</a> <a href="/categories/garden/">Garden</a></nav></header>
<main class="main">
<article class="post-single">
  <header class="post-header">
    <div class="breadcrumbs"><a href="/">Home</a> » <a href="/posts/">Posts</a></div>
    <h1 class="post-title">Ferns I have known</h1>
    <div class="post-meta"><time datetime="2024-04-02T10:00:00-05:00">April 2, 2024</time>
      · <a rel="author" href="/about/">Jo Example</a></div>
  </header>
  <div class="post-content">
    <p>My garden has <a href="/2024/moss/">moss</a> and ferns, and I have known a few for years.</p>
    <picture><source srcset="/img/fern-800.webp 800w, /img/fern-1600.webp 1600w" type="image/webp">
      <source srcset="/img/fern-800.avif 800w" type="image/avif">
      <img src="/img/fern.jpg" alt="A fern unrolling"></picture>
    <pre><code><span class="hljs-comment"># water weekly</span></code></pre>
    <div class="share-buttons"><a href="https://twitter.com/share">Share on X</a></div>
    <p style="display: none">Hidden text</p><p hidden>Also hidden</p>
    <script>track()</script><noscript><img src="/pixel.gif"></noscript>
  </div>
  <footer class="post-footer">
    <ul class="post-tags"><li><a href="https://jo.example/tags/ferns/">#ferns</a></li>
      <li><a href="/blog/tags/slow-living/">slow living</a></li><li><a href="/tags/ferns/">ferns</a></li>
      <li><a href="/tags/ferns/page/2/">2</a></li></ul>
    <nav class="paginav"><a class="prev" href="/2024/moss/">« Moss</a><a class="next" href="/2024/oaks/">Oaks »</a></nav>
  </footer>
</article>
<section id="comments" class="comments"><article class="comment">
  <p>Lovely ferns! I have some too, in a pot on my balcony, and they thrive there, in the shade.</p>
  <a rel="author" href="https://sam.example/">Sam</a><a href="/tags/pots/">pots</a>
  <time datetime="2024-04-03T09:00:00+00:00">April 3</time></article></section>
<aside class="related"><h2>Related</h2><a href="/tags/moss/">Moss</a></aside>
</main>
<footer class="footer"><a href="/categories/misc/">Misc</a> © Jo</footer>
</body></html>"""


def test_hugo_article_body_byline_tags_date_and_one_photo_per_picture() -> None:
    post = read(HUGO, "https://jo.example/2024/ferns/")
    assert post.content_html == (
        '<p>My garden has <a href="https://jo.example/2024/moss/">moss</a> and ferns, and I have known a few'
        ' for years.</p>\n<picture><source srcset="https://jo.example/img/fern-800.webp 800w,'
        ' https://jo.example/img/fern-1600.webp 1600w" type="image/webp">\n<source'
        ' srcset="https://jo.example/img/fern-800.avif 800w" type="image/avif">\n<img alt="A fern unrolling"'
        ' src="https://jo.example/img/fern.jpg"/></source></source></picture>\n'
        '<pre><code><span class="hljs-comment"># water weekly</span></code></pre>')
    assert post.author == Author(name="Jo Example", url="https://jo.example/about/")
    assert post.published == datetime.fromisoformat("2024-04-02T10:00:00-05:00")
    # Tag pages under any base path, the name without '#', once; not the comment's, the
    # related box's, the menu's or the site footer's, nor a tag's second page.
    assert post.tags == ("ferns", "slow living") and post.categories == ()
    assert post.photos == (Media(url="https://jo.example/img/fern.jpg", alt="A fern unrolling"),)
    assert post.featured is None and post.title is None


GHOST = """<html><head><title>Start here</title></head><body class="post-template has-sidebar">
<header class="gh-head"><a class="gh-head-logo" href="/"><img src="/logo.png" alt="Site"></a></header>
<main id="site-main" class="site-main"><article class="article post tag-getting-started">
<header class="article-header gh-canvas">
  <div class="article-tag post-card-tags"><a href="/tag/getting-started/">Getting Started</a></div>
  <h1 class="article-title">Start here</h1>
  <div class="article-byline"><a href="/author/ghost/" class="author-avatar">
    <img class="author-profile-image" src="/content/images/ghost.png" alt="Ghost"></a>
    <h4 class="author-name"><a href="/author/ghost/">Ghost</a></h4>
    <time class="byline-meta-date" datetime="2021-03-01">1 Mar 2021</time></div>
  <figure class="article-image"><img srcset="/content/images/size/w300/start.jpg 300w,
    /content/images/size/w1000/start.jpg 1000w" alt="A start line"></figure>
</header>
<section class="gh-content gh-canvas"><p>Welcome, it's great to have you here.</p>
<p>Hashtags like <a href="https://social.example/tags/ghost" rel="tag">#ghost</a> count, and so does a
<a href="https://www.ghost.example/category/guides/basics/" rel="category tag">Basics</a> link. Not
<a href="https://other.example/tag/x/">another site's tag</a>, nor a sentence about
<a href="/tag/publishing/">publishing with Ghost</a> in the middle of a paragraph.</p>
<div class="wp-block-cover" style="background-image:url(/in-text.jpg)"><p>A cover block in the text</p></div></section>
</article>
<section class="footer-cta"><h2>Sign up for more like this.</h2><form><input type=email></form></section>
<aside class="read-more-wrap"><article class="post-card"><a href="/tag/news/">News</a>
  <p>Some other post's excerpt, which goes on for a while so that it has text.</p></article></aside>
</main></body></html>"""


def test_ghost_terms_author_name_link_date_only_and_cover_from_srcset() -> None:
    post = read(GHOST, "https://ghost.example/start-here/")
    assert content.text_of(post.content_html or "").startswith("Welcome, it's great to have you here. Hashtags")
    assert content.text_of(post.content_html or "").endswith("A cover block in the text")
    # rel=tag anywhere (even to another site), category paths (nested, www. is the same
    # site); not another site's tag page, not a link in a sentence, not the aside's.
    assert post.categories == ("Basics",)
    assert post.tags == ("Getting Started", "ghost")
    assert post.author == Author(name="Ghost", url="https://ghost.example/author/ghost/")
    # A date without a time: midnight UTC (the day is right).
    assert post.published == datetime(2021, 3, 1, tzinfo=UTC)
    # The header's picture, not the author's avatar nor the site logo; no src: the
    # largest candidate of its srcset.
    assert post.featured == Media(url="https://ghost.example/content/images/size/w1000/start.jpg", alt="A start line")


def test_cover_only_a_css_background_of_the_hero() -> None:
    hero = read("""<html><body><div class="site-header"><img src="/logo.png"></div>
        <div class="hero" style="color: #fff; background-image: url( '/img/cover.jpg' );"><h1>Title</h1></div>
        <article><p>A post whose cover is only a CSS background in the hero above the article.</p></article>
        </body></html>""", "https://x.example/p/1/")
    assert hero.featured == Media(url="https://x.example/img/cover.jpg")
    assert hero.content_html == "<p>A post whose cover is only a CSS background in the hero above the article.</p>"
    header = read("""<html><body><article><header class="entry-header"
        style="background:#000 url(cover.png) no-repeat"><h1>T</h1></header>
        <div class="entry-content"><p>Short note.</p></div></article></body></html>""", "https://x.example/p/2/")
    assert header.featured == Media(url="https://x.example/p/2/cover.png")
    assert header.content_html == "<p>Short note.</p>"
    unquoted = read("""<html><body><article><header><div class="post-cover"
        style='background-image:url("https://cdn.example/c.webp")'></div></header>
        <p>Text of a post with a cover from a CDN, and nothing else.</p></article></body></html>""",
                    "https://x.example/p/3/")
    assert unquoted.featured == Media(url="https://cdn.example/c.webp")


def test_microdata_article_body_author_and_date() -> None:
    post = read("""<html><body><div itemscope itemtype="https://schema.org/BlogPosting">
        <h1 itemprop="headline">Kaffee</h1>
        <span itemprop="author" itemscope itemtype="https://schema.org/Person"><a itemprop="url"
          href="/ueber/"><span itemprop="name">Anna Berg</span></a></span>
        <meta itemprop="datePublished" content="2024-03-01T07:00:00+01:00">
        <div itemprop="articleBody"><p>Seit einem Monat mahle ich von Hand.</p></div></div>
        <p>A footer paragraph that is rather long: long enough to win the score if no markup said where
        the post is.</p></body></html>""", "https://kaffee.example/2024/kaffee/")
    assert post.content_html == "<p>Seit einem Monat mahle ich von Hand.</p>"
    assert post.author == Author(name="Anna Berg", url="https://kaffee.example/ueber/")
    assert post.published == datetime.fromisoformat("2024-03-01T07:00:00+01:00")


def test_no_article_markup_the_paragraphs_win_and_the_byline_class_names_the_author() -> None:
    post = read("""<html><head><title>Why I still write HTML by hand - Pat</title></head><body>
        <div id="top"><a href="/">Home</a> | <a href="/archive">Archive</a> | <a href="/about">About</a></div>
        <table><tr><td class="side"><a href="/a">A link list entry that is long enough to count</a></td>
        <td><div class="story"><h2>Why I still write HTML by hand</h2>
        <p>Every page on this site is typed into a text editor, one tag at a time, and I like it.</p>
        <p>It keeps the pages small, and it keeps me honest about what each page needs to say.</p>
        <div class="byline">by Pat Smith</div></div>
        <div class="links"><p><a href="/x">An unrelated link with a long enough title</a>
        <a href="/y">and another one with more words in it</a></p></div></td></tr></table>
        <div id="bottom">Copyright 2003</div></body></html>""", "http://pat.example/handmade.html")
    assert post.content_html == (
        "<p>Every page on this site is typed into a text editor, one tag at a time, and I like it.</p>\n"
        "<p>It keeps the pages small, and it keeps me honest about what each page needs to say.</p>")
    assert post.author == Author(name="Pat Smith")
    assert post.published is None and post.tags == () and post.featured is None


def test_block_theme_shape_main_content_class_and_terms_outside_an_article() -> None:
    post = read("""<html><body><header class="wp-block-template-part"><nav><a href="/category/news/">News</a>
        </nav></header><main class="wp-block-group"><h1 class="wp-block-post-title">Week two</h1>
        <div class="entry-content wp-block-post-content"><p>Two weeks in.</p>
        <figure class="wp-block-image"><img src="/up/w2-1024x683.jpg" alt="A desk"></figure></div>
        <div class="wp-block-group"><div class="wp-block-post-date"><time
          datetime="2019-06-20T21:04:00-04:00">June 20</time></div>
        <div class="taxonomy-category wp-block-post-terms"><a href="/category/learning/" rel="tag">Learning</a></div>
        <div class="wp-block-post-author"><p class="wp-block-post-author__name">Maya Okonkwo</p></div></div>
        <div class="wp-block-comments"><h3 id="comments">One response</h3><ol><li><a
          href="/tag/spam/" rel="tag">spam</a><time datetime="2019-06-21T08:00:00-04:00">x</time></li></ol></div>
        </main></body></html>""", "http://127.0.0.1:8765/2019/06/20/6/")
    assert post.content_html == ('<p>Two weeks in.</p>\n<figure class="wp-block-image"><img alt="A desk"'
                                 ' src="http://127.0.0.1:8765/up/w2-1024x683.jpg"/></figure>')
    assert post.categories == ("Learning",) and post.tags == ()  # rel="tag" on a category path
    assert post.published == datetime.fromisoformat("2019-06-20T21:04:00-04:00")
    assert post.author == Author(name="Maya Okonkwo")
    assert post.photos == (Media(url="http://127.0.0.1:8765/up/w2-1024x683.jpg", alt="A desk"),)


def test_wordpress_author_link_text_and_the_lazy_picture() -> None:
    post = read("""<html><body><article><div class="entry-content"><p>Hello there.</p>
        <img src="data:image/gif;base64,R0lGOD" data-src="/lazy.jpg" alt="Lazy"></div>
        <div class="author-bio"><a class="author-link" href="/author/maya/" rel="author">View all of Maya
        Okonkwo's posts.</a></div></article></body></html>""", "https://b.example/p/")
    assert post.author == Author(name="Maya Okonkwo", url="https://b.example/author/maya/")
    assert post.photos == (Media(url="https://b.example/lazy.jpg", alt="Lazy"),)


@pytest.mark.parametrize("html", [
    # Only a title and one short line in <main>: not convincing (the feed's summary will do).
    "<html><body><main><h1>Kaffee am Morgen</h1><p>Seit einem Monat mahle ich von Hand.</p></main></body></html>",
    # Nothing but links and a word.
    '<html><body><div><a href="/a">a</a> <a href="/b">b</a></div><p>Tiny.</p></body></html>',
    # An article that is only its header and footer.
    ("<html><body><article><header><h1>T</h1><time datetime='2024-01-01T00:00:00Z'>x</time></header>"
     "<footer><a href='/tags/x/'>x</a></footer></article></body></html>"),
])
def test_nothing_convincing_gives_no_content(html: str) -> None:
    post = read(html, "https://kaffee.example/?p=3")
    assert post.content_html is None and post.photos == ()


def test_an_empty_article_still_has_its_frame() -> None:
    post = read("<html><body><article><header><h1>T</h1><time datetime='2024-01-01T10:00:00Z'>x</time>"
                "</header><footer><a href='/tags/x/'>x</a></footer></article></body></html>",
                "https://b.example/t/")
    assert post.published == datetime(2024, 1, 1, 10, tzinfo=UTC) and post.tags == ("x",)


def test_updated_dates_and_dates_in_the_text_are_not_the_publication() -> None:
    post = read("""<html><body><article><header><time class="updated" datetime="2024-02-02T00:00:00Z">u</time>
        <time datetime="2024-01-05T08:00:00">no offset</time><time itemprop="dateModified"
        datetime="2024-02-03T00:00:00Z">m</time></header><div class="entry-content"><p>On
        <time datetime="2020-01-01T00:00:00Z">New Year 2020</time> I started.</p></div>
        <footer><span class="posted-on"><time class="entry-date published" datetime="2024-01-05T08:00:00+01:00">
        5 Jan</time></span></footer></article></body></html>""", "https://b.example/d/")
    assert post.published == datetime.fromisoformat("2024-01-05T08:00:00+01:00")


def test_term_kind() -> None:
    base = "https://www.b.example/2024/post/"
    assert chrome.term_kind("/tags/a/", base) == "tags"
    assert chrome.term_kind("https://b.example/blog/tag/a-b/", base) == "tags"
    assert chrome.term_kind("/category/a/b/", base) == "categories"
    assert chrome.term_kind("/en/categories/x", base) == "categories"
    assert chrome.term_kind("/tags/", base) is None  # the index of tags, no tag
    assert chrome.term_kind("/tag/a/feed/", base) is None
    assert chrome.term_kind("https://c.example/tags/a/", base) is None
    assert chrome.term_kind("/2024/tagged-things/", base) is None


def test_html_is_a_source_after_rel_canonical() -> None:
    assert SOURCES[SOURCES.index("rel-canonical") + 1] == "html"


# --- the recorded WordPress pages -------------------------------------------------------

def _post_pages() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for theme in ("twentytwentyone", "twentytwentythree"):
        manifest = json.loads((WP / theme / "manifest.json").read_text())
        out += [(theme, f) for f in manifest["files"] if f["page_kind"] == "post"]
    return out


@pytest.mark.parametrize(("theme", "entry"), _post_pages(), ids=lambda v: v if isinstance(v, str) else v["file"])
def test_wordpress_pages_read_from_their_markup_alone(theme: str, entry: dict[str, Any]) -> None:
    truth = {t["permalink"]: t for t in json.loads((WP / "truth.json").read_text())["posts"]}[entry["url"]]
    page = microformats.parse_page((WP / theme / entry["file"]).read_text(encoding="utf-8"), entry["url"])
    post = article.post_from_html(page.soup, entry["url"])
    assert paragraphs(post.content_html or "") == truth["content_paragraphs_text"]
    for leftover in ("<form", "<script", "comment", "webmention", "Leave a", "Posted", "Tags:"):
        assert leftover not in (post.content_html or "")
    assert post.published is not None and post.published.isoformat() == truth["published"]
    assert post.categories == tuple(truth["categories"]) and post.tags == tuple(truth["tags"])
    archive = truth["author"]["archive"] if theme == "twentytwentyone" else None  # 2023 links no name
    assert post.author == Author(name=truth["author"]["name"], url=archive)
    image = truth["image"]
    if image:
        assert post.featured == Media(url=image["full"], alt=image["alt"])
        assert post.photos == (Media(url=image["large"], alt=image["alt"]),)
    else:
        assert post.featured is None and post.photos == ()


def test_a_body_class_inside_chrome_is_not_the_body() -> None:
    post = read("""<html><body><main><div class="related-posts"><div class="post-content"><p>Another post,
        shown above this one as a teaser.</p></div></div><h1>This post</h1>
        <div class="post-content"><p>The post itself.</p></div></main></body></html>""", "https://b.example/p/")
    assert post.content_html == "<p>The post itself.</p>"


def test_wrappers_named_after_what_they_hold_are_not_chrome() -> None:
    # Genesis wraps the post and the sidebar in one element; block themes mark state classes.
    post = read("""<html><body class="has-sidebar"><div class="site-inner"><div class="content-sidebar-wrap">
        <main class="content"><article class="post entry"><header class="entry-header"><h1 class="entry-title">G</h1>
        </header><div class="entry-content"><p>Inside Genesis.</p></div></article></main>
        <aside class="sidebar sidebar-primary widget-area"><a href="/tag/widget/">widget</a></aside></div></div>
        </body></html>""", "https://g.example/g/")
    assert post.content_html == "<p>Inside Genesis.</p>" and post.tags == ()


def test_plain_page_body_among_sibling_paragraphs_is_trimmed() -> None:
    # No <article>, <main> or <time>: the site's link above the title, a date-and-tags
    # line, a back link and a copyright line are siblings of the post's paragraphs.
    post = read("""<html><head><title>Fixing a dripping tap | Bits and Bobs</title></head><body>
        <p><a href="/">Bits and Bobs</a></p><hr><h1>Fixing a dripping tap</h1>
        <p><em>8 October 2017</em> · tags: <a href="/tags/repairs/">repairs</a>, <a href="/tags/home/">home</a></p>
        <p>The kitchen tap had been dripping for a month. A new washer cost thirty cents.</p>
        <p>Turn off the water under the sink first. I know. I know now.</p>
        <p><a href="/">&larr; all posts</a></p><hr><p>&copy; Lena Hoffmann</p></body></html>""",
                "https://bits.example/posts/fixing-a-dripping-tap/")
    assert post.content_html == (
        "<p>The kitchen tap had been dripping for a month. A new washer cost thirty cents.</p>\n"
        "<p>Turn off the water under the sink first. I know. I know now.</p>")
    assert post.tags == ("repairs", "home")


def test_main_with_a_metadata_list_and_next_previous_links() -> None:
    post = read("""<html><body><header><a href="/" class="home-link">Allotment</a><nav><a href="/about/">About</a>
        </nav></header><main id="skip"><h1>Broad beans in November</h1>
        <ul class="post-metadata"><li><time datetime="2021-11-07">07 Nov 2021</time></li>
          <li>by <a rel="author" href="/about/">Gareth Pugh</a></li>
          <li><a href="/tags/beans/" class="post-tag">beans</a>, </li></ul>
        <p>Every November I push a double row of broad beans into the cold soil and hope for the best.</p>
        <ul class="links-nextprev"><li>Next: <a href="/blog/the-slug-census/">The slug census</a></li></ul>
        </main><footer><p>Built with <a href="https://www.11ty.dev/">Eleventy</a></p></footer></body></html>""",
                "https://allot.example/blog/broad-beans-in-november/")
    assert post.content_html == ("<p>Every November I push a double row of broad beans into the cold soil"
                                 " and hope for the best.</p>")
    assert post.author == Author(name="Gareth Pugh", url="https://allot.example/about/")
    assert post.published == datetime(2021, 11, 7, tzinfo=UTC) and post.tags == ("beans",)


def test_post_header_outside_the_article_gives_cover_and_byline() -> None:
    # A Clean Blog-like theme: the post's header (cover as a CSS background, byline with
    # microdata) is a page-level <header> above the <article>, next to the site's <nav>.
    post = read("""<html><body><nav class="navbar"><a class="navbar-brand" href="/">The Slow Traveller</a></nav>
        <header class="post-header masthead" style="background-image: url('/img/night-train.jpg')">
        <div class="post-heading"><h1>The night train</h1><span class="meta">Posted by <span itemprop="author"
          itemscope itemtype="http://schema.org/Person"><span itemprop="name">Margit Sørensen</span></span>
          on September 22, 2019</span></div></header>
        <article><div class="container"><p>The train leaves Copenhagen a little after nine.</p></div></article>
        <footer><p class="copyright">Copyright &copy; Margit Sørensen 2021</p></footer></body></html>""",
                "https://slow.example/2019/09/22/the-night-train/")
    assert post.featured == Media(url="https://slow.example/img/night-train.jpg")
    assert post.author == Author(name="Margit Sørensen")
    assert post.content_html == "<p>The train leaves Copenhagen a little after nine.</p>"


def test_byline_text_stops_at_the_date_and_a_plain_post_header_gives_the_cover() -> None:
    hugo = read("""<html><body><main><article><header><h1>Compost</h1>
        <p class="byline">By Kwame Mensah · 9 January 2021</p></header>
        <p>A thermometer in the compost heap tells you what happened last week.</p>
        <footer class="tags"><p>Tagged: <a href="/tags/compost/">compost</a></p></footer></article></main>
        </body></html>""", "https://dirt.example/posts/compost/")
    assert hugo.author == Author(name="Kwame Mensah") and hugo.tags == ("compost",)
    assert hugo.content_html == "<p>A thermometer in the compost heap tells you what happened last week.</p>"
    jekyll = read("""<html><body><div id="top"><a href="/">Workbench Diary</a> | <a href="/atom.xml">Feed</a></div>
        <div class="post"><header><img src="/img/kitchen-stool.jpg" alt="" width="800" height="300">
        <h1>A stool for the kitchen</h1><p>4 November 2018</p></header>
        <p>The kitchen needed a stool that a child can stand on and an adult can sit on.</p>
        <p>It took five weekends. The first one was spent entirely on a cutting list.</p></div>
        <div id="bottom">Sam O'Neill, Learning woodwork one mistake at a time.</div></body></html>""",
                  "https://wood.example/woodwork/2018/11/04/a-stool-for-the-kitchen.html")
    assert jekyll.featured == Media(url="https://wood.example/img/kitchen-stool.jpg")
    assert content.text_of(jekyll.content_html or "") == (
        "The kitchen needed a stool that a child can stand on and an adult can sit on. "
        "It took five weekends. The first one was spent entirely on a cutting list.")
