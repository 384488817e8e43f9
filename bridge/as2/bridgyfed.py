"""Bridgy Fed, as one of our blogs meets it (issue 21): the Bluesky handle it gives a fediverse
account, what it requires before it bridges one, and the Follow of its bot (and that Follow's
Undo) by which a blog opts in (and out).

Pure. From Bridgy Fed's user docs (https://fed.brid.gy/docs: "Bridged fediverse accounts will
appear in Bluesky as @[user].[instance].ap.brid.gy") and code (snarfed/bridgy-fed: `ids.py`
`translate_handle`, `activitypub.py` `REQUIRES_AVATAR`, `REQUIRES_OLD_ACCOUNT`, `common.py`
`OLD_ACCOUNT_AGE`).

The fediverse handle Bridgy Fed starts from is the one WebFinger's reverse discovery gives
(`ActivityPub.reload_profile`): ours is `@name@handle_domain` with `handle_domain` set (and the
blog's WebFinger redirect in place, which `bridge check` checks), else `@name@bridge-host`
(bridge/as2/actor.py `handle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bridge.as2.vocab import AS2_CONTEXT

BLUESKY_SUFFIX = ".ap.brid.gy"  # ids.py: `{flattened}.{ActivityPub.ABBREV}{SUPERDOMAIN}`
# Characters WebFinger allows and ATProto handles do not: Bridgy Fed writes a dash (ids.py DASH_CHARS).
_DASHED = ("_", "~", ":")
# Bridgy Fed bridges a fediverse account only once its profile's `published` is this old
# (common.py OLD_ACCOUNT_AGE, 7 days since 2024; 14 before) and it has a profile picture.
OLD_ACCOUNT_AGE = timedelta(days=7)
BSKY_PROFILE = "https://bsky.app/profile/"


def bluesky_handle(fediverse_handle: str) -> str:
    """`@user@host` → `user.host.ap.brid.gy`, as Bridgy Fed names the account in Bluesky:
    lower case, `@` → `.`, and `_`, `~`, `:` (a port) → `-`."""
    flat = fediverse_handle.strip().lower().lstrip("@").replace("@", ".")
    for char in _DASHED:
        flat = flat.replace(char, "-")
    return flat + BLUESKY_SUFFIX


def bluesky_profile(handle: str) -> str:
    """The account's page on bsky.app."""
    return BSKY_PROFILE + handle


def unmet_requirements(actor: Mapping[str, Any], now: datetime) -> list[str]:
    """What Bridgy Fed requires of a fediverse account that our actor document lacks, one
    sentence each (empty: nothing): a profile picture (`icon`), and a `published` date at
    least OLD_ACCOUNT_AGE ago (an actor that states none passes, as in Bridgy Fed)."""
    out = []
    if not _icon_url(actor.get("icon")):
        out.append("no profile picture: Bridgy Fed bridges only accounts with one")
    born = _published(actor.get("published"))
    if born is not None and now - born < OLD_ACCOUNT_AGE:
        ready = born + OLD_ACCOUNT_AGE
        out.append(f"the account is {(now - born).days} days old: Bridgy Fed bridges accounts older than "
                   f"{OLD_ACCOUNT_AGE.days} days (this one from {ready:%Y-%m-%d %H:%M} UTC)")
    return out


def follow_to_as2(me: str, target: str, follow_id: str) -> dict[str, Any]:
    """Our `Follow` of `target`, as `me`."""
    return {"@context": AS2_CONTEXT, "id": follow_id, "type": "Follow", "actor": me, "object": target,
            "to": [target]}


def undo_to_as2(me: str, target: str, follow_id: str, undo_id: str) -> dict[str, Any]:
    """The `Undo` of our Follow of `target`, the Follow embedded (Mastodon finds it by its id,
    others by actor and object)."""
    follow = {"id": follow_id, "type": "Follow", "actor": me, "object": target}
    return {"@context": AS2_CONTEXT, "id": undo_id, "type": "Undo", "actor": me, "object": follow, "to": [target]}


def block_to_as2(me: str, target: str, block_id: str) -> dict[str, Any]:
    """A `Block` of `target`: how an account opts out of Bridgy Fed (its docs: block the bot), which
    then stops bridging it and deletes the Bluesky copy; undoing the follow alone does not."""
    return {"@context": AS2_CONTEXT, "id": block_id, "type": "Block", "actor": me, "object": target, "to": [target]}


def _icon_url(icon: object) -> str | None:
    """An `icon`'s URL: a string, an Image's `url` (or a Link's `href`), the first of a list."""
    if isinstance(icon, list):
        return next((url for item in icon if (url := _icon_url(item))), None)
    if isinstance(icon, Mapping):
        return _icon_url(icon.get("url") or icon.get("href"))
    return icon if isinstance(icon, str) and icon else None


def _published(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)  # Python 3.11 reads a "Z" too
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
