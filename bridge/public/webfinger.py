"""WebFinger (RFC 7033) and host-meta (RFC 6415): how `@blog@bridge.example` is found.

Pure: the configuration and the `resource` asked for in; the account, the JRD or the
XRD out. What Mastodon checks (app/lib/webfinger.rb, activitypub/
fetch_remote_actor_service.rb, check_webfinger!): the JRD's `subject` is the handle it
stores; a `self` link typed exactly `application/activity+json` (or ld+json with the
AS2 profile) whose `href` is the actor id, and the actor's `preferredUsername@host`
must lead back to the same subject and actor. With `handle_domain` the blog's own
domain answers (its /.well-known/webfinger redirects here), and both handles answer
with that one subject.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from bridge.as2.actor import handle, instance_username
from bridge.as2.vocab import AS2_CONTENT_TYPE, LD_CONTENT_TYPE
from bridge.blog.post import same_url
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.urls import actor_id, authorize_interaction_template, instance_actor_id

JRD_CONTENT_TYPE = "application/jrd+json"
XRD_CONTENT_TYPE = "application/xrd+xml"
WEBFINGER_PATH = "/.well-known/webfinger"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"


class ResourceError(Exception):
    """A WebFinger query we cannot answer: `status` 400 (malformed) or 404 (not ours)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Account:
    """Who a resource names: a blog's account, or the instance actor (blog None)."""

    actor: str
    subject: str
    aliases: tuple[str, ...]
    profile_page: str | None
    blog: BlogConfig | None = None


def _blog_account(config: Config, blog: BlogConfig) -> Account:
    me = actor_id(config.server.base_url, blog.name)
    subject = f"acct:{handle(blog, config.server.host)}"
    aliases = [me, blog.url]
    if blog.handle_domain:  # the bridge's own handle still names the same account
        aliases.append(f"acct:{blog.name}@{config.server.host}")
    return Account(actor=me, subject=subject, aliases=tuple(aliases), profile_page=blog.url, blog=blog)


def _instance_account(config: Config) -> Account:
    me = instance_actor_id(config.server.base_url)
    subject = f"acct:{instance_username(config.server.base_url)}@{config.server.host}"
    return Account(actor=me, subject=subject, aliases=(me,), profile_page=None)


def find_account(config: Config, resource: str | None) -> Account:
    """The account a WebFinger `resource` names: `acct:NAME@HOST` (HOST the bridge's host
    with its port, a blog's `handle_domain`, or the blog's own host), the actor URL, or
    the blog URL. Raises ResourceError (400 malformed, 404 unknown)."""
    if resource is None or not resource.strip():
        raise ResourceError(400, "resource: missing (expected acct:NAME@HOST or a URL)")
    text = resource.strip()
    if text.lower().startswith(("http://", "https://")):
        return _by_url(config, text)
    if text.lower().startswith("acct:"):
        text = text[5:]
    user, at, host = unquote(text).lstrip("@").rpartition("@")
    if not at or not user or not host or any(c in host for c in "/?#") or any(c.isspace() for c in text):
        raise ResourceError(400, f"resource: {resource!r} is not an acct:NAME@HOST URI or an http(s) URL")
    user, host = user.lower(), host.lower()
    for blog in config.blogs:
        hosts = {config.server.host.lower(), (urlsplit(blog.url).netloc or "").lower()}
        if blog.handle_domain:
            hosts.add(blog.handle_domain)
        if user == blog.name and host in hosts:
            return _blog_account(config, blog)
    if user == instance_username(config.server.base_url) and host == config.server.host.lower():
        return _instance_account(config)
    raise ResourceError(404, f"no account {user}@{host} here")


def _by_url(config: Config, url: str) -> Account:
    route = urls.parse(config.server.base_url, url)
    if isinstance(route, urls.InstanceActor):
        return _instance_account(config)
    for blog in config.blogs:
        if (isinstance(route, urls.Actor) and route.name == blog.name) or same_url(url, blog.url):
            return _blog_account(config, blog)
    raise ResourceError(404, f"no account for {url} here")


def account_to_jrd(account: Account, *, base_url: str, rels: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JRD (RFC 7033 section 4.4); `rels` keeps only those links (section 4.3)."""
    links: list[dict[str, str]] = [
        {"rel": "self", "type": AS2_CONTENT_TYPE, "href": account.actor},
        {"rel": "self", "type": LD_CONTENT_TYPE, "href": account.actor},
    ]
    if account.profile_page:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": account.profile_page})
    links.append({"rel": SUBSCRIBE_REL, "template": authorize_interaction_template(base_url)})
    if rels:
        links = [link for link in links if link["rel"] in rels]
    return {"subject": account.subject, "aliases": list(account.aliases), "links": links}


def lrdd_template(base_url: str) -> str:
    return f"{base_url}{WEBFINGER_PATH}?resource={{uri}}"


def host_meta_xrd(base_url: str) -> str:
    """host-meta as XRD (RFC 6415 section 2): where WebFinger lives, for older software."""
    template = html.escape(lrdd_template(base_url), quote=True)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )


def host_meta_jrd(base_url: str) -> dict[str, Any]:
    """host-meta as JSON (RFC 6415 appendix A)."""
    return {"links": [{"rel": "lrdd", "template": lrdd_template(base_url)}]}
