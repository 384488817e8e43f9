"""What an operator does with interactions and blocks: the one API the CLI
(`bridge interactions`) and the dashboard share.

An edge over the database: listing (by kind, where a reaction, a like that carries an emoji,
is told apart from a plain like for the CLI and the dashboard alike), approving a held
interaction (its webmention is queued), rejecting one (its page answers 410; a webmention
already sent is sent again so the blog drops the comment), re-sending a webmention, and the
table of blocked actors and domains (the config's `[moderation]` lists add to it;
bridge/inbox/moderation.py reads both).
Every change is made in one transaction with the job it causes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from tortoise import connections
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from bridge.core.blocks import block_pattern
from bridge.inbox.moderation import BlockList
from bridge.jobs.store import utcnow
from bridge.models import (
    Block,
    Interaction,
    InteractionKind,
    InteractionState,
    Visibility,
)
from bridge.webmention.send import queue_webmention

DEFAULT_LIMIT = 50

# What `bridge interactions --kind` and the dashboard's filter select: the stored kinds, with
# `like` split in two. An `EmojiReact`, or a `Like` carrying an emoji (Misskey, Pleroma), is
# stored as a like with `data["emoji"]` (bridge/as2/interaction.py `Interaction.extras`) and
# sent to the blog as a reacji (bridge/webmention/hentry.py): here it is a `reaction`, and
# `like` is a like without one.
REACTION = "reaction"
KIND_FILTERS = (InteractionKind.REPLY.value, InteractionKind.LIKE.value, REACTION, InteractionKind.REPOST.value,
                InteractionKind.QUOTE.value)
EMOJI_SHOWN = 32  # characters of an emoji shown: a custom one is a `:shortcode:` of any length

# A like carries an emoji when `data.emoji` is a string with more than spaces in it: the
# same rule as `reaction_emoji` below, in each database's JSON dialect (a JSONB column on
# PostgreSQL, JSON text on SQLite). 1 or 0, so one annotation filters on both.
_EMOJI = {
    "postgres": "\"interactions\".\"data\"->>'emoji'",
    "sqlite": "json_extract(\"interactions\".\"data\", '$.emoji')",
}
_HAS_EMOJI = {
    "postgres": (f"CASE WHEN jsonb_typeof(\"interactions\".\"data\"->'emoji') = 'string' "
                 f"AND TRIM({_EMOJI['postgres']}) <> '' THEN 1 ELSE 0 END"),
    "sqlite": (f"CASE WHEN json_type(\"interactions\".\"data\", '$.emoji') = 'text' "
               f"AND TRIM({_EMOJI['sqlite']}) <> '' THEN 1 ELSE 0 END"),
}
# Shown to the operator, never as the sender wrote it: no control characters (a terminal's
# escape sequences, a tab or newline that would break the CLI's columns), no bidi overrides
# or isolates that would turn the rest of the line around. ZWJ (U+200D), variation selectors
# and tag characters stay: emoji sequences and subdivision flags are made of them.
_HIDDEN = re.compile("[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _dialect() -> str:
    return "postgres" if connections.get("default").capabilities.dialect == "postgres" else "sqlite"


def has_emoji_sql() -> str:
    """The SQL expression (1 or 0) of "this row carries an emoji", for the default connection."""
    return _HAS_EMOJI[_dialect()]


def emoji_sql() -> str:
    """The SQL expression of a row's emoji as stored (text, or NULL), for the default connection."""
    return _EMOJI[_dialect()]


def reaction_emoji(row: Interaction) -> str | None:
    """The emoji of a reaction as stored (a like that carries one); None for anything else."""
    if row.kind is not InteractionKind.LIKE or not isinstance(row.data, dict):
        return None
    emoji = row.data.get("emoji")
    return emoji if isinstance(emoji, str) and emoji.strip(" ") else None


def kind_label(row: Interaction) -> str:
    """What the operator calls the row, one of KIND_FILTERS."""
    return REACTION if reaction_emoji(row) is not None else row.kind.value


def emoji_text(row: Interaction) -> str | None:
    """A reaction's emoji as plain text that is safe to print on one line (`shown_emoji`);
    None for anything but a reaction."""
    emoji = reaction_emoji(row)
    return None if emoji is None else shown_emoji(emoji)


def shown_emoji(emoji: str) -> str:
    """An emoji as received, made plain text for one line: without control or bidi
    characters, whitespace folded, at most EMOJI_SHOWN characters; `?` if nothing is left.
    Still text, not markup: HTML escapes it as any text (the dashboard's autoescaping)."""
    text = " ".join(_HIDDEN.sub(lambda m: " " if m.group().isspace() else "", emoji).split())
    text = "".join(c for c in text if unicodedata.category(c) != "Cs")  # a lone surrogate prints nowhere
    if len(text) > EMOJI_SHOWN:
        text = text[:EMOJI_SHOWN - 1] + "…"
    return text or "?"


def of_kind(query: QuerySet[Interaction], kind: str) -> QuerySet[Interaction]:
    """`query` narrowed to one of KIND_FILTERS. Raises ValueError for another word."""
    if kind not in KIND_FILTERS:
        raise ValueError(f"no kind {kind[:40]!r}: one of {', '.join(KIND_FILTERS)}")
    if kind not in (InteractionKind.LIKE.value, REACTION):
        return query.filter(kind=kind)
    return query.filter(kind=InteractionKind.LIKE).annotate(has_emoji=RawSQL(has_emoji_sql())).filter(
        has_emoji=1 if kind == REACTION else 0)


class UnknownInteraction(LookupError):
    def __init__(self, interaction_id: int) -> None:
        super().__init__(f"no interaction {interaction_id}")
        self.interaction_id = interaction_id


class NotAllowed(ValueError):
    """The action does not apply to the interaction as it stands (the message says why)."""


async def list_interactions(held: bool | None = None, blog: str | None = None,
                            limit: int = DEFAULT_LIMIT, offset: int = 0, kind: str | None = None) -> list[Interaction]:
    """Newest first. `held=True`: only those waiting for approval; False: all others.
    `kind`: one of KIND_FILTERS (ValueError for another)."""
    query = Interaction.all()
    if held is True:
        query = query.filter(state=InteractionState.HELD)
    elif held is False:
        query = query.exclude(state=InteractionState.HELD)
    if blog is not None:
        query = query.filter(blog=blog)
    if kind is not None:
        query = of_kind(query, kind)
    return await query.order_by("-id").offset(max(0, offset)).limit(max(1, limit))


async def _get(interaction_id: int, conn: Any) -> Interaction:
    row = await Interaction.filter(id=interaction_id).using_db(conn).select_for_update().first()
    if row is None:
        raise UnknownInteraction(interaction_id)
    return row


async def approve(interaction_id: int) -> Interaction:
    """Publish a held interaction: its page goes up and its webmention is queued."""
    async with in_transaction() as conn:
        row = await _get(interaction_id, conn)
        if row.state is not InteractionState.HELD:
            raise NotAllowed(f"interaction {interaction_id} is {row.state}, not held")
        row.state = InteractionState.PUBLISHED
        await row.save(using_db=conn, update_fields=["state", "updated_at"])
        await queue_webmention(row, "approved", using_db=conn)
    return row


async def reject(interaction_id: int) -> Interaction:
    """Refuse a held interaction, or take down a published one (its page answers 410, and
    the blog is told again so it drops the comment)."""
    async with in_transaction() as conn:
        row = await _get(interaction_id, conn)
        if row.state not in (InteractionState.HELD, InteractionState.PUBLISHED, InteractionState.PRIVATE):
            raise NotAllowed(f"interaction {interaction_id} is already {row.state}")
        was_public = row.state is InteractionState.PUBLISHED
        row.state = InteractionState.REJECTED
        row.deleted_at = utcnow()
        await row.save(using_db=conn, update_fields=["state", "deleted_at", "updated_at"])
        if was_public and row.webmentions_sent:
            await queue_webmention(row, "rejected", using_db=conn)
    return row


async def resend(interaction_id: int) -> Interaction:
    """Queue the interaction's webmention again (published, or withdrawn: then the blog
    learns it is gone)."""
    async with in_transaction() as conn:
        row = await _get(interaction_id, conn)
        if row.state in (InteractionState.HELD, InteractionState.PRIVATE) or row.visibility not in (
                Visibility.PUBLIC, Visibility.UNLISTED):
            raise NotAllowed(f"interaction {interaction_id} is {row.state}: it is not sent to the blog")
        await queue_webmention(row, "resend", using_db=conn)
    return row


async def block(pattern: str, blocks: BlockList | None = None) -> Block:
    """Block an actor (its id) or a domain (and its subdomains). Blocking twice is a no-op.
    `blocks`: the app's block list, told at once (other processes read the table within seconds)."""
    value = block_pattern(pattern)
    row, _ = await Block.get_or_create(pattern=value)
    if blocks is not None:
        blocks.forget()
    return row


async def unblock(pattern: str, blocks: BlockList | None = None) -> bool:
    """Remove a block; False when there was none."""
    removed = await Block.filter(pattern=block_pattern(pattern)).delete()
    if blocks is not None:
        blocks.forget()
    return bool(removed)


async def blocked() -> list[Block]:
    """The blocks made here (not the config's lists), oldest first."""
    return await Block.all().order_by("id")
