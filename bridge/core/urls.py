"""The router of our own URLs: every URL the bridge mints is built here, and read back here.

Pure functions of `base_url` and names/ids. These ids are stored by remote servers
forever: changing any pattern here breaks every follower and every reply. Mastodon
requires an object's id to share its actor's host.

`parse(base_url, url)` is the one way to read a URL back (as Fedify's router and
Mastodon's `ActivityPub::TagManager#uri_to_local_id` do): a typed route, or None for
anything that is not exactly a URL we could have minted. Ids are what we mint: ASCII
digits without a leading zero, within the BIGINT primary keys (`parse_id`); `²`, `١`,
`01` or a 25-digit number is "not ours", never an exception and never another row.
The HTTP routes (bridge/public/routes.py, bridge/public/replies.py, bridge/inbox/routes.py,
bridge/webmention/pages.py) are registered from the patterns below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

INSTANCE_ACTOR_PATH = "/actor"  # FEP-2677 application actor
SHARED_INBOX_PATH = "/inbox"
PING_PATH = "/webmention"  # our webmention endpoint (the blog's pings and answers)
WITHDRAWN_AVATAR_PATH = "/avatars/withdrawn.svg"  # the picture of a withdrawn comment (webmention/pages.py)
# The WebFinger "subscribe" template's page (OStatus remote follow, kept by Mastodon).
AUTHORIZE_INTERACTION_PATH = "/authorize_interaction"
KEY_FRAGMENT = "#main-key"
ED25519_KEY_FRAGMENT = "#ed25519-key"  # an actor's Ed25519 key (a FEP-521a Multikey in `assertionMethod`)
COLLECTIONS = ("inbox", "outbox", "followers", "following", "featured")
VERBS = ("create", "update", "delete")
MAX_ID = 2**63 - 1  # the BIGINT primary keys

# aiohttp route patterns of the URLs built below (the views parse ids with `parse_id`).
ACTOR_ROUTE = "/users/{name}"
ACTOR_INBOX_ROUTE = "/users/{name}/inbox"
POSTS_ROUTE = "/users/{name}/posts"  # ?url=PERMALINK: `post_lookup`
POST_ROUTE = "/users/{name}/posts/{id}"
POST_ACTIVITY_ROUTE = "/users/{name}/posts/{id}/{verb:create|delete}"
POST_UPDATE_ROUTE = "/users/{name}/posts/{id}/{verb:update}/{version:[0-9a-f]{12}}"
POST_REPLIES_ROUTE = "/users/{name}/posts/{id}/replies"  # ?page=N: `post_replies_page`
INTERACTION_ROUTE = "/interactions/{id}"
QUOTE_AUTHORIZATION_ROUTE = "/users/{name}/quote_authorizations/{id}"

# A blog's name, the NAME of @NAME@host: Mastodon's username rule (app/models/account.rb
# USERNAME_RE), lower-cased, so the handle survives every server's WebFinger lookup.
BLOG_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?")
_ID = re.compile(r"[1-9][0-9]{0,18}")
_VERSION = re.compile(r"[0-9a-f]{12}")


# -- building ----------------------------------------------------------------------------

def actor_id(base_url: str, name: str) -> str:
    return f"{base_url}/users/{name}"


def key_id(actor: str, *, ed25519: bool = False) -> str:
    """The `publicKey.id` of an actor (or its Ed25519 key's id), and the `keyId` it signs with."""
    return f"{actor}{ED25519_KEY_FRAGMENT if ed25519 else KEY_FRAGMENT}"


def instance_actor_id(base_url: str) -> str:
    return f"{base_url}{INSTANCE_ACTOR_PATH}"


def shared_inbox(base_url: str) -> str:
    return f"{base_url}{SHARED_INBOX_PATH}"


def ping_endpoint(base_url: str) -> str:
    """Our webmention endpoint."""
    return f"{base_url}{PING_PATH}"


def withdrawn_avatar(base_url: str) -> str:
    return f"{base_url}{WITHDRAWN_AVATAR_PATH}"


def actor_collection(actor: str, which: str) -> str:
    """`inbox`, `outbox`, `followers`, `following` or `featured` of an actor."""
    return f"{actor}/{which}"


def post_object_id(actor: str, post_id: int) -> str:
    """A blog post as an AS2 object (post_id: the stored post's row id)."""
    return f"{actor}/posts/{post_id}"


def post_replies(object_id: str) -> str:
    """A post's `replies` collection (Mastodon's `…/statuses/ID/replies`; bridge/public/replies.py)."""
    return f"{object_id}/replies"


def post_replies_page(object_id: str, page: int) -> str:
    """Page `page` (from 1) of a post's `replies`: offset pages, oldest first (bridge/as2/replies.py)."""
    return f"{post_replies(object_id)}?page={page}"


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


def follow_answer_id(actor: str, verb: str, serial: str) -> str:
    """The id of an `Accept` or `Reject` of a Follow (a fragment of the actor: never fetched)."""
    return f"{actor}#{verb.lower()}s/{serial}"


def actor_update_id(actor: str, serial: str) -> str:
    """The id of an `Update` of an actor (a fragment of the actor: never fetched)."""
    return f"{actor}#updates/{serial}"


def interaction_page(base_url: str, interaction_id: int) -> str:
    """The h-entry page of a reply, like or boost: the webmention source."""
    return f"{base_url}/interactions/{interaction_id}"


def quote_authorization(actor: str, interaction_id: int) -> str:
    """The `QuoteAuthorization` that lets the quote kept as interaction `interaction_id`
    quote one of the actor's posts (FEP-044f; Mastodon's `approval_uri`)."""
    return f"{actor}/quote_authorizations/{interaction_id}"


# -- reading back ------------------------------------------------------------------------

def is_ours(base_url: str, url: str) -> bool:
    """Whether `url` is on the bridge's own origin (scheme and host[:port]; never a prefix match,
    which would take `https://bridge.example.evil/` for ours)."""
    ours, theirs = urlsplit(base_url), urlsplit(url)
    return (ours.scheme, ours.netloc.lower()) == (theirs.scheme.lower(), theirs.netloc.lower())


def parse_id(text: str, *, minimum: int = 1) -> int | None:
    """A row id as we write it: ASCII digits, no leading zero, `minimum`..MAX_ID; else None.
    (`str.isdigit` takes `²` and `١٢`; `int` takes those and `01`; a 25-digit id overflows BIGINT.)"""
    if text == "0" and minimum <= 0:
        return 0
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= MAX_ID else None


@dataclass(frozen=True, slots=True)
class Actor:
    name: str


@dataclass(frozen=True, slots=True)
class Collection:
    name: str
    which: str  # one of COLLECTIONS


@dataclass(frozen=True, slots=True)
class PostObject:
    name: str
    post_id: int


@dataclass(frozen=True, slots=True)
class PostActivity:
    name: str
    post_id: int
    verb: str  # one of VERBS
    version: str | None  # an update's


@dataclass(frozen=True, slots=True)
class PostReplies:
    name: str
    post_id: int
    page: int | None  # None: the collection itself


@dataclass(frozen=True, slots=True)
class PostLookup:
    name: str
    permalink: str


@dataclass(frozen=True, slots=True)
class InteractionPage:
    interaction_id: int


@dataclass(frozen=True, slots=True)
class QuoteAuthorization:
    name: str
    interaction_id: int


@dataclass(frozen=True, slots=True)
class InstanceActor:
    pass


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The shared inbox, the webmention endpoint, or a fixed resource (the withdrawn avatar)."""

    path: str


Route = (Actor | Collection | PostObject | PostActivity | PostReplies | PostLookup | InteractionPage
         | QuoteAuthorization | InstanceActor | Endpoint)


def parse(base_url: str, url: str) -> Route | None:
    """What URL of ours `url` is, or None when it is none.

    The origin must be ours; the fragment is ignored (a key id is its actor), and so is
    the query, but for a post lookup's `url` and a replies page's `page`; the path is as we write it (no trailing
    slash: `/interactions/5/` is served by nobody, so it is not ours). A blog name is parsed, not checked against
    the configuration: callers ask whether they serve that blog."""
    if not isinstance(url, str) or not is_ours(base_url, url):
        return None
    parts = urlsplit(url)
    path = parts.path
    segments = path.split("/")[1:]
    if path == INSTANCE_ACTOR_PATH:
        return InstanceActor()
    if path in (SHARED_INBOX_PATH, PING_PATH, WITHDRAWN_AVATAR_PATH):
        return Endpoint(path)
    if len(segments) == 2 and segments[0] == "interactions":
        interaction_id = parse_id(segments[1])
        return InteractionPage(interaction_id) if interaction_id is not None else None
    if len(segments) < 2 or segments[0] != "users" or not BLOG_NAME.fullmatch(segments[1]):
        return None
    name, rest = segments[1], segments[2:]
    if not rest:
        return Actor(name)
    if len(rest) == 1 and rest[0] in COLLECTIONS:
        return Collection(name, rest[0])
    if len(rest) == 2 and rest[0] == "quote_authorizations":
        interaction_id = parse_id(rest[1])
        return QuoteAuthorization(name, interaction_id) if interaction_id is not None else None
    if rest[0] != "posts":
        return None
    if len(rest) == 1:
        permalink = parse_qs(parts.query).get("url", [""])[0]
        return PostLookup(name, permalink) if permalink else None
    post_id = parse_id(rest[1])
    if post_id is None:
        return None
    if len(rest) == 2:
        return PostObject(name, post_id)
    if len(rest) == 3 and rest[2] == "replies":
        pages = parse_qs(parts.query, keep_blank_values=True).get("page")
        page = parse_id(pages[0]) if pages else None
        return PostReplies(name, post_id, page) if page is not None or not pages else None  # `?page=0`: not ours
    if len(rest) == 3 and rest[2] in ("create", "delete"):
        return PostActivity(name, post_id, rest[2], None)
    if len(rest) == 4 and rest[2] == "update" and _VERSION.fullmatch(rest[3]):
        return PostActivity(name, post_id, "update", rest[3])
    return None


# -- what any blog embeds: comments as JSON and the script that shows them (bridge/public/widget.py)

API_COMMENTS_PATH = "/api/comments"  # ?url=PERMALINK (or the post's object id)
WIDGET_PATH = "/widget"  # the folder of the embeddable scripts
WIDGET_COMMENTS_SCRIPT_PATH = f"{WIDGET_PATH}/comments.js"  # the <fediverse-comments> element
# Where a reader is sent to reply, like or follow from their own server (?uri=ID&account=HANDLE).
# Must match the route of the remote-interaction page (bridge/public/interact.py).
INTERACT_PATH = "/interact"


def api_comments(base_url: str, permalink: str) -> str:
    """A post's comments as the widget reads them, by the permalink the blog writes."""
    return f"{base_url}{API_COMMENTS_PATH}?url={quote(permalink, safe='')}"


def widget_comments_script(base_url: str) -> str:
    return f"{base_url}{WIDGET_COMMENTS_SCRIPT_PATH}"


def interact(base_url: str, uri: str | None = None) -> str:
    """The action of the widget's "reply from your server" and "follow" forms (a plain GET form:
    the reader's `account` and the `uri` of the post or actor are its fields); with `uri`, the
    page that asks a reader for their account to follow or answer it (bridge/public/interact.py)."""
    return f"{base_url}{INTERACT_PATH}" + (f"?uri={quote(uri, safe='')}" if uri is not None else "")


# -- the front door: what a reader's browser sees (bridge/public/front.py)

FRONT_DOOR_PATH = "/"
PROFILE_ROUTE = "/@{name}"  # a blog's profile page; a browser at urls.actor_id is sent here


def front_door(base_url: str) -> str:
    return f"{base_url}{FRONT_DOOR_PATH}"


def profile_page(base_url: str, name: str) -> str:
    """A blog's profile page for people (its actor id answers AS2 clients)."""
    return f"{base_url}/@{name}"
