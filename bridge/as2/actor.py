"""Our actors as AS2: each blog's account, and the instance's application actor (FEP-2677).

Pure: the blog's config, its stored profile, its public key in; a JSON-ready dict out.
What Mastodon does with an actor document (app/services/activitypub/
process_account_service.rb) decides most of the shape, and much of it fails silently:
- `icon` and `image` must be objects with a `url` (a bare URL string is ignored);
- `attachment` must be an array of `PropertyValue` with `name` and an HTML `value`
  (profile fields; the link gets its green check when the page links back with rel=me);
- `url` is dropped when its host differs from the actor's (mismatching_origin?), so a
  browser that follows the account's link lands on the actor id: the bridge sends it
  to the account's profile page, `/@NAME` (bridge/public/routes.py, front.py);
- `publicKey.id` must be exactly the keyId we sign with (urls.key_id);
- a followers/following collection without `first` is shown as hidden (collection_info).
"""

from __future__ import annotations

import html
import mimetypes
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridge.as2.posts import iso
from bridge.as2.vocab import AS2_CONTEXT
from bridge.blog.post import Media, Profile, same_url
from bridge.config import BlogConfig
from bridge.core.urls import actor_collection, actor_id, instance_actor_id, key_id, shared_inbox

SECURITY_CONTEXT = "https://w3id.org/security/v1"
# The Ed25519 key of our integrity proofs is a FEP-521a Multikey in `assertionMethod`: these
# two contexts define it and the proofs (Fedify preloads both; no processor need fetch them).
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
WEBFINGER_CONTEXT = "https://purl.archive.org/socialweb/webfinger"  # FEP-2c59
# The extension terms we use, named as Mastodon names them (its own actor @context), so
# that JSON-LD processors and Mastodon's plain-JSON reading agree.
ACTOR_TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    # Where the Multikey sits (FEP-521a; the DID context's term, defined here so no processor
    # needs the DID context).
    "assertionMethod": {"@id": "https://w3id.org/security#assertionMethod", "@type": "@id", "@container": "@set"},
}
ACTOR_CONTEXT: list[Any] = [AS2_CONTEXT, SECURITY_CONTEXT, DATA_INTEGRITY_CONTEXT, MULTIKEY_CONTEXT, WEBFINGER_CONTEXT,
                             ACTOR_TERMS]
MAX_FIELDS = 4  # profile fields Mastodon shows (Account::DEFAULT_FIELDS_SIZE)
LINK_REL = "me nofollow noopener noreferrer"
SOFTWARE = "blog-fediverse-bridge"


def summary_html(text: str | None) -> str | None:
    """A plain-text bio as HTML: escaped, blank lines as paragraphs, newlines as <br>."""
    if not text or not text.strip():
        return None
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{'<br>'.join(html.escape(line) for line in p.splitlines())}</p>" for p in paragraphs)


def image_to_as2(media: Media) -> dict[str, Any]:
    """An avatar or header as an `Image` object (never a bare URL)."""
    image: dict[str, Any] = {"type": "Image", "url": media.url}
    mime = media.mime_type or mimetypes.guess_type(urlsplit(media.url).path)[0]
    if mime:
        image["mediaType"] = mime
    if media.alt:
        image["name"] = media.alt
    return image


def link_label(url: str) -> str:
    """A URL as people read it: no scheme, no "www.", no trailing slash."""
    parts = urlsplit(url)
    host = (parts.netloc or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def link_value(url: str) -> str:
    """A profile field's value: the link, with rel="me" so servers can verify it."""
    return f'<a href="{html.escape(url)}" rel="{LINK_REL}">{html.escape(link_label(url))}</a>'


def property_values(blog_url: str, links: tuple[str, ...]) -> list[dict[str, str]]:
    """The blog, then its rel=me links, as Mastodon's profile fields."""
    fields = [{"type": "PropertyValue", "name": "Blog", "value": link_value(blog_url)}]
    shown = [blog_url]
    for url in links:
        if len(fields) == MAX_FIELDS:
            break
        if not url.startswith(("http://", "https://")) or any(same_url(url, s) for s in shown):
            continue
        shown.append(url)
        name = (urlsplit(url).hostname or url).removeprefix("www.")
        fields.append({"type": "PropertyValue", "name": name, "value": link_value(url)})
    return fields


def _profile(blog: BlogConfig, profile: Profile | None) -> Profile:
    """The stored profile with the config's overrides on top (the config may have changed
    since the last poll), or, for a blog never read, the config alone."""
    base = profile or Profile(url=blog.url)
    return Profile(
        url=blog.url,
        name=blog.display_name or base.name or base.site_name,
        summary=blog.bio or base.summary,
        icon=Media(url=blog.avatar) if blog.avatar else base.icon,
        header=Media(url=blog.header) if blog.header else base.header,
        links=base.links,
        site_name=base.site_name,
        language=base.language,
    )


def handle(blog: BlogConfig, server_host: str) -> str:
    """The account's canonical handle, without "acct:" or "@": on the blog's domain when
    `handle_domain` is set, else on the bridge's."""
    return f"{blog.name}@{blog.handle_domain or server_host}"


def actor_to_as2(
    blog: BlogConfig,
    *,
    base_url: str,
    profile: Profile | None,
    public_key_pem: str,
    published: datetime | None = None,
    multikey: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The blog's account document, served at urls.actor_id(base_url, blog.name).
    `multikey`: the Ed25519 key that signs our integrity proofs (FEP-521a), if it has one."""
    me = actor_id(base_url, blog.name)
    seen = _profile(blog, profile)
    actor: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": me,
        "type": blog.actor_type,
        "preferredUsername": blog.name,
        "name": seen.name or blog.name,
    }
    if summary := summary_html(seen.summary):
        actor["summary"] = summary
    if seen.icon:
        actor["icon"] = image_to_as2(seen.icon)
    if seen.header:
        actor["image"] = image_to_as2(seen.header)
    actor.update({
        "url": blog.url,
        "inbox": actor_collection(me, "inbox"),
        "outbox": actor_collection(me, "outbox"),
        "followers": actor_collection(me, "followers"),
        "following": actor_collection(me, "following"),
        "featured": actor_collection(me, "featured"),
        "endpoints": {"sharedInbox": shared_inbox(base_url)},
        "publicKey": {"id": key_id(me), "owner": me, "publicKeyPem": public_key_pem},
        **({"assertionMethod": [multikey]} if multikey else {}),
        "manuallyApprovesFollowers": blog.manually_approves_followers,
        "discoverable": blog.discoverable,
        "indexable": blog.indexable,
        "webfinger": handle(blog, urlsplit(base_url).netloc),
    })
    if published:
        actor["published"] = iso(published)
    actor["attachment"] = property_values(blog.url, seen.links)
    # Link previews of the blog's pages credit this account (Mastodon 4.4, "fediverse:creator").
    actor["attributionDomains"] = [urlsplit(blog.url).hostname]
    actor["alsoKnownAs"] = list(blog.also_known_as)
    return actor


def instance_username(base_url: str) -> str:
    """The application actor's preferredUsername: the bridge's host name, as Mastodon
    names its own instance actor."""
    return urlsplit(base_url).hostname or "bridge"


def instance_actor_to_as2(*, base_url: str, public_key_pem: str, version: str,
                          published: datetime | None = None) -> dict[str, Any]:
    """The bridge's own `Application` actor (FEP-2677), which signs requests that are not
    made for one blog (fetching a remote actor or post). It follows nobody and posts
    nothing; what is sent to it goes to the shared inbox."""
    me = instance_actor_id(base_url)
    actor: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": me,
        "type": "Application",
        "preferredUsername": instance_username(base_url),
        "name": f"{SOFTWARE} {version}",
        "summary": "<p>The bridge between blogs and the fediverse at this address.</p>",
        "inbox": shared_inbox(base_url),
        "outbox": actor_collection(me, "outbox"),
        "endpoints": {"sharedInbox": shared_inbox(base_url)},
        "publicKey": {"id": key_id(me), "owner": me, "publicKeyPem": public_key_pem},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
    }
    if published:
        actor["published"] = iso(published)
    return actor
