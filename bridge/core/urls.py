"""Every URL the bridge mints for the fediverse, and how to read them back.

Pure functions of `base_url` and names/ids. These ids are stored by remote
servers forever: changing any pattern here breaks every follower and every
reply. Mastodon requires an object's id to share its actor's host.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

INSTANCE_ACTOR_PATH = "/actor"  # FEP-2677 application actor
SHARED_INBOX_PATH = "/inbox"
PING_PATH = "/webmention"  # our webmention endpoint (the blog's pings and answers)
KEY_FRAGMENT = "#main-key"
# The WebFinger "subscribe" template's page (OStatus remote follow, kept by Mastodon).
AUTHORIZE_INTERACTION_PATH = "/authorize_interaction"


def actor_id(base_url: str, name: str) -> str:
    return f"{base_url}/users/{name}"


def key_id(actor: str) -> str:
    """The `publicKey.id` of an actor, and the `keyId` we sign its requests with."""
    return f"{actor}{KEY_FRAGMENT}"


def instance_actor_id(base_url: str) -> str:
    return f"{base_url}{INSTANCE_ACTOR_PATH}"


def shared_inbox(base_url: str) -> str:
    return f"{base_url}{SHARED_INBOX_PATH}"


def actor_collection(actor: str, which: str) -> str:
    """`inbox`, `outbox`, `followers`, `following` or `featured` of an actor."""
    return f"{actor}/{which}"


def post_object_id(actor: str, post_id: int) -> str:
    """A blog post as an AS2 object (post_id: the stored post's row id)."""
    return f"{actor}/posts/{post_id}"


def post_lookup(actor: str, permalink: str) -> str:
    """Where a blog page's `<link rel="alternate" type="application/activity+json">`
    points: the post's AS2 object, found by its permalink (the blog knows no row id)."""
    return f"{actor}/posts?url={quote(permalink, safe='')}"


def authorize_interaction_template(base_url: str) -> str:
    """The WebFinger subscribe template (RFC 6570 level 1: `{uri}` is filled in by the client)."""
    return f"{base_url}{AUTHORIZE_INTERACTION_PATH}?uri={{uri}}"


def activity_id(object_id: str, verb: str, version: str | None = None) -> str:
    """`create`, `delete`, or `update` with a version (the post's fingerprint prefix)."""
    return f"{object_id}/{verb}" + (f"/{version}" if version else "")


def interaction_page(base_url: str, interaction_id: int) -> str:
    """The h-entry page of a reply, like or boost: the webmention source."""
    return f"{base_url}/interactions/{interaction_id}"


def is_ours(base_url: str, url: str) -> bool:
    """Whether `url` is on the bridge's own origin."""
    ours, theirs = urlsplit(base_url), urlsplit(url)
    return (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())
