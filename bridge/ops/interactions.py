"""What an operator does with interactions and blocks: the one API the CLI
(`bridge interactions`) and the dashboard share.

An edge over the database: listing, approving a held interaction (its webmention is
queued), rejecting one (its page answers 410; a webmention already sent is sent again
so the blog drops the comment), re-sending a webmention, and the table of blocked actors
and domains (the config's `[moderation]` lists add to it; bridge/inbox/moderation.py reads both).
Every change is made in one transaction with the job it causes.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from bridge.core.blocks import block_pattern
from bridge.inbox.moderation import BlockList
from bridge.jobs.store import utcnow
from bridge.models import Block, Interaction, InteractionState, Visibility
from bridge.webmention.send import queue_webmention

DEFAULT_LIMIT = 50


class UnknownInteraction(LookupError):
    def __init__(self, interaction_id: int) -> None:
        super().__init__(f"no interaction {interaction_id}")
        self.interaction_id = interaction_id


class NotAllowed(ValueError):
    """The action does not apply to the interaction as it stands (the message says why)."""


async def list_interactions(held: bool | None = None, blog: str | None = None,
                            limit: int = DEFAULT_LIMIT, offset: int = 0) -> list[Interaction]:
    """Newest first. `held=True`: only those waiting for approval; False: all others."""
    query = Interaction.all()
    if held is True:
        query = query.filter(state=InteractionState.HELD)
    elif held is False:
        query = query.exclude(state=InteractionState.HELD)
    if blog is not None:
        query = query.filter(blog=blog)
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
