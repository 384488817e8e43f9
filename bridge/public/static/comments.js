/* <fediverse-comments>: a blog post's replies, likes, boosts and reactions from the fediverse,
 * read from the bridge that publishes the blog (GET /api/comments). No framework, no cookies.
 *
 *   <script src="https://bridge.example/widget/comments.js" defer></script>
 *   <fediverse-comments url="https://blog.example/2026/a-post/"></fediverse-comments>
 *
 * url: the post's permalink (default: the page's canonical link, else its address);
 * src: the bridge (default: where this script came from); heading-level: 2 by default.
 * What is inside the element stays until the comments arrive (a no-script fallback).
 * Names, handles and URLs are set as text and attributes (URLs http(s) only); a reply's
 * `content` is the one piece of HTML: sanitised by the bridge, parsed inert and filtered
 * again here. The page's fonts and colours apply: the few rules below are :where()-scoped,
 * so any rule of the page wins. */
(function () {
  "use strict";
  if (!window.customElements || customElements.get("fediverse-comments")) return;
  var me = document.currentScript;
  var HOME = me && me.src ? me.src.replace(/\/widget\/comments\.js([?#].*)?$/, "") : "";
  var REL = "nofollow ugc noopener";
  var TAGS = ("P BR SPAN A DEL S PRE BLOCKQUOTE CODE B STRONG U I EM UL OL LI H1 H2 H3 H4 H5 H6 " +
              "SUP SUB HR ABBR Q RUBY RT RP").split(" ");
  var ATTRS = { A: ["href", "title"], OL: ["start", "reversed"], LI: ["value"], ABBR: ["title"] };
  var W = ":where(fediverse-comments) ";
  var CSS = "fediverse-comments{display:block}" +
    W + ".fc-row{display:flex;flex-wrap:wrap;align-items:center;gap:.3em .8em;margin:.5em 0}" +
    W + ".fc-label{margin:0;font-size:1em;min-width:6.5em}" +
    W + ".fc-faces{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.3em}" +
    W + ".fc-face{position:relative}" + W + ".fc-face a{text-decoration:none}" +
    W + ".fc-avatar{width:2.4em;height:2.4em;border-radius:50%;object-fit:cover;vertical-align:middle;" +
    "display:inline-flex;align-items:center;justify-content:center;background:rgba(128,128,128,.25)}" +
    W + ".fc-emoji{position:absolute;right:-.3em;bottom:-.3em;font-size:.9em;line-height:1}" +
    W + ".fc-replies{list-style:none;margin:0;padding:0}" +
    W + ".fc-replies .fc-replies{margin-left:min(1.2em,3vw);padding-left:min(1em,3vw);" +
    "border-left:2px solid rgba(128,128,128,.35)}" +
    W + ".fc-reply{margin:.75em 0}" +
    W + ".fc-meta{display:flex;flex-wrap:wrap;align-items:center;gap:.2em .5em;font-size:.9em}" +
    W + ".fc-meta .fc-avatar{width:2em;height:2em}" +
    W + ".fc-handle,.fc-meta time,.fc-edited{opacity:.75}" +
    W + ".fc-content{overflow-wrap:anywhere}" +
    W + ".fc-act input{max-width:100%}";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function safeUrl(u) {
    try { var p = new URL(u); return p.protocol === "https:" || p.protocol === "http:" ? p.href : null; }
    catch (e) { return null; }
  }
  function link(href, text, attrs) {
    var u = safeUrl(href);
    var a = el(u ? "a" : "span", u ? Object.assign({ href: u, rel: REL }, attrs || {}) : {});
    if (text != null) a.textContent = text;
    return a;
  }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
  function avatar(author, alt) {
    var src = safeUrl(author.avatar);
    var initial = el("span", alt ? { class: "fc-avatar", role: "img", "aria-label": alt }
                                 : { class: "fc-avatar", "aria-hidden": "true" },
                     Array.from(author.name || "?")[0].toUpperCase());
    if (!src) return initial;
    var img = el("img", { class: "fc-avatar", src: src, alt: alt, width: 48, height: 48, loading: "lazy",
                          decoding: "async", referrerpolicy: "no-referrer" });
    img.addEventListener("error", function () { img.replaceWith(initial); });
    return img;
  }
  function when(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d)) return null;
    var t = el("time", { datetime: iso }), how = { year: "numeric", month: "short", day: "numeric" };
    try { t.textContent = d.toLocaleDateString(document.documentElement.lang || undefined, how); }
    catch (e) { t.textContent = d.toLocaleDateString(undefined, how); }  // lang="en_US": no such locale
    return t;
  }

  /* The bridge's sanitised HTML, parsed inert (DOMParser runs no script, loads nothing) and
   * filtered again: anything outside the bridge's allow-list is dropped whole. */
  function filter(node) {
    Array.from(node.children).forEach(function (child) {
      if (TAGS.indexOf(child.tagName) < 0) { child.remove(); return; }
      var keep = ATTRS[child.tagName] || [];
      Array.from(child.attributes).forEach(function (a) {
        if (keep.indexOf(a.name) < 0) child.removeAttribute(a.name);
      });
      if (child.tagName === "A") {
        var href = child.getAttribute("href") || "";
        if (!safeUrl(href) && !/^mailto:/i.test(href)) child.removeAttribute("href");
        child.setAttribute("rel", REL);
      }
      filter(child);
    });
  }
  function content(html) {
    var body = new DOMParser().parseFromString("<!doctype html><body>" + (html || ""), "text/html").body;
    filter(body);
    var box = el("div", { class: "fc-content" });
    while (body.firstChild) box.appendChild(document.adoptNode(body.firstChild));
    return box;
  }

  function reply(r) {
    var li = el("li");
    var art = el("article", { class: "fc-reply", lang: r.language });
    var meta = el("header", { class: "fc-meta" });
    meta.append(avatar(r.author, ""), link(r.author.url, r.author.name, { class: "fc-author" }));
    if (r.author.handle) meta.append(el("span", { class: "fc-handle" }, "@" + r.author.handle));
    var t = when(r.published);
    if (t) { var a = link(r.url, null, { class: "fc-original" }); a.append(t); meta.append(a); }
    if (r.edited) meta.append(el("span", { class: "fc-edited", title: r.edited }, "(edited)"));
    art.append(meta);
    var words = content(r.content);
    (r.attachments || []).forEach(function (at) {
      var p = el("p", { class: "fc-attachment" });
      p.append(link(at.url, at.name || "Attachment"));
      words.append(p);
    });
    if (r.summary) {
      var details = el("details", { class: "fc-cw" });
      details.append(el("summary", null, r.summary), words);
      art.append(details);
    } else {
      art.append(words);
    }
    li.append(art);
    if (r.children && r.children.length) li.append(list(r.children));
    return li;
  }
  function list(replies) {
    var ol = el("ol", { class: "fc-replies" });
    replies.forEach(function (r) { ol.append(reply(r)); });
    return ol;
  }
  function faces(items, verb) {
    var ul = el("ul", { class: "fc-faces" });
    items.forEach(function (f) {
      var li = el("li", { class: "fc-face" });
      var a = link(f.author.url, null, { title: f.author.name + (f.emoji ? " " + verb + " " + f.emoji : "") });
      a.append(avatar(f.author, f.author.name));
      if (f.emoji) a.append(el("span", { class: "fc-emoji" }, f.emoji));
      li.append(a);
      ul.append(li);
    });
    return ul;
  }

  class FediverseComments extends HTMLElement {
    static get observedAttributes() { return ["url", "src"]; }
    connectedCallback() { this.load(); }
    attributeChangedCallback() { if (this.started) this.load(); }

    load() {
      this.started = true;
      var serial = this.serial = (this.serial || 0) + 1;
      var home = (this.getAttribute("src") || HOME).replace(/\/+$/, "");
      var canonical = document.querySelector('link[rel="canonical"]');
      var url = this.getAttribute("url") || (canonical && canonical.href) || location.href.split("#")[0];
      var self = this;
      this.setAttribute("aria-busy", "true");
      var answer = home ? fetch(home + "/api/comments?url=" + encodeURIComponent(url),
                                { credentials: "omit", headers: { Accept: "application/json" } })
                        : Promise.reject(new Error("no bridge"));
      answer.then(function (resp) {
        if (resp.status === 404) return null;
        if (!resp.ok) throw new Error(resp.status);
        return resp.json();
      }).then(function (doc) {
        if (serial === self.serial) self.show(doc);
      }).catch(function () {
        if (serial === self.serial) self.replaceChildren(el("p", { class: "fc-unavailable" }, "Comments unavailable."));
      }).finally(function () { self.removeAttribute("aria-busy"); });
    }

    heading(level, text) {
      var n = parseInt(this.getAttribute("heading-level"), 10) || 2;
      return el("h" + Math.min(6, Math.max(1, n + level)), null, text);
    }

    show(doc) {
      if (!document.getElementById("fediverse-comments-style")) {
        document.head.append(el("style", { id: "fediverse-comments-style" }, CSS));
      }
      var box = el("section", { class: "fc" });
      box.append(this.heading(0, "From the fediverse"));
      if (!doc) {
        box.append(el("p", { class: "fc-none" }, "No replies from the fediverse yet."));
        return this.replaceChildren(box);
      }
      var c = doc.counts, self = this;
      [["likes", "like"], ["boosts", "boost"], ["reactions", "reaction"]].forEach(function (k) {
        if (!c[k[0]]) return;
        var row = el("div", { class: "fc-row fc-" + k[0] });
        var label = self.heading(1, plural(c[k[0]], k[1], k[0]));
        label.className = "fc-label";
        row.append(label, faces(doc[k[0]], "reacted"));
        box.append(row);
      });
      if (c.replies) box.append(this.heading(1, plural(c.replies, "reply", "replies")), list(doc.replies));
      if (c.quotes) {
        var quotes = el("ul", { class: "fc-quotes" });
        doc.quotes.forEach(function (q) {
          var li = el("li");
          li.append(link(q.author.url, q.author.name), " ", link(q.url, "quoted this post"));
          quotes.append(li);
        });
        box.append(this.heading(1, "Quoted " + plural(c.quotes, "time", "times")), quotes);
      }
      if (!c.replies && !c.likes && !c.boosts && !c.reactions && !c.quotes) {
        box.append(el("p", { class: "fc-none" }, "No replies from the fediverse yet."));
      }
      box.append(this.form(doc.post));
      this.replaceChildren(box);
    }

    /* A plain GET form: the reader's server is asked by the bridge's /interact page. The
     * button pressed gives `uri`: the post (reply, like, boost) or the blog's account (follow). */
    form(post) {
      var id = "fc-account-" + this.serial + "-" + Math.random().toString(36).slice(2, 8);
      var home = (this.getAttribute("src") || HOME).replace(/\/+$/, "");
      var form = el("form", { class: "fc-act", method: "get", action: safeUrl(post.interact) || home + "/interact" });
      var ask = el("p");
      ask.append(el("label", { for: id }, "Reply, like or boost from your own server (your handle or server):"), " ",
                 el("input", { id: id, name: "account", type: "text", required: "", placeholder: "you@example.social",
                               autocomplete: "on", autocapitalize: "none", spellcheck: "false" }));
      var buttons = el("p");
      buttons.append(el("button", { type: "submit", name: "uri", value: post.id }, "Reply"), " ",
                     el("button", { type: "submit", name: "uri", value: post.actor }, "Follow @" + post.handle));
      form.append(ask, buttons);
      return form;
    }
  }
  customElements.define("fediverse-comments", FediverseComments);
})();
