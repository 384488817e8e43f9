"""Issue 20, parts 7 and 8, through the inbox job flow, with the members' and movers' servers
as real HTTP servers on 127.0.0.1 (tests/fedi.py `Peer`):
- a group's `Announce` of a member's activity (FEP-1b12, Lemmy's shape) is checked with the
  member's own server and then handled as the member's: a reply becomes a comment by its
  author; a forged one (the server says otherwise, or nothing) is dropped;
- a follower's `Move` (FEP-7628) carries the follow over to the new account, only if the new
  account names the old one in `alsoKnownAs`.
Fedify plays both sides end to end in tests/test_fedify_2026.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bridge.core.clock import utcnow
from bridge.keys import new_ed25519_pair
from bridge.models import (
    Follower,
    FollowState,
    Interaction,
    InteractionKind,
    InteractionState,
    RemoteActor,
)
from bridge.signatures import multikey_document, sign_object

from .fedi import Peer, keypair
from .test_interaction_flow import BASE, PUBLIC, TARGET, arrive, world

POST = f"{BASE}/users/blog/posts/1"


@asynccontextmanager
async def lemmy() -> AsyncIterator[tuple[Peer, str, str]]:
    """A Lemmy-like server: a community (the group) and a member, both with actor documents."""
    peer = await Peer.start()
    try:
        _, public = keypair("lemmy")
        group = peer.actor("c/bloggers", public, type="Group")
        member = peer.actor("u/maria", public, name="Maria")
        yield peer, group, member
    finally:
        await peer.close()


def comment(peer: Peer, n: int, member: str, content: str = "<p>From the forum.</p>") -> dict[str, Any]:
    return {"id": peer.url(f"/comment/{n}"), "type": "Note", "attributedTo": member, "inReplyTo": POST,
            "content": content, "to": [PUBLIC], "cc": [member.replace("/u/", "/c/")]}


def relayed(peer: Peer, group: str, inner: dict[str, Any], n: int) -> dict[str, Any]:
    return {"id": peer.url(f"/activities/announce/{n}"), "type": "Announce", "actor": group, "object": inner,
            "to": [PUBLIC], "cc": [f"{group}/followers"]}


async def test_a_group_relayed_reply_is_a_comment_by_its_author(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config, lemmy() as (peer, group, member):
        note = comment(peer, 1, member)
        peer.serve("/comment/1", note)
        create = {"id": peer.url("/activities/create/1"), "type": "Create", "actor": member, "object": note}
        await arrive(config, relayed(peer, group, create, 1))
        row = await Interaction.get(object_id=note["id"])
        assert (row.kind, row.actor_uri, row.author_name, row.target_url, row.state) == (
            InteractionKind.REPLY, member, "Maria", TARGET, InteractionState.PUBLISHED)
        assert row.content == "<p>From the forum.</p>"
        assert [s.url for s in peer.seen if s.method == "GET"].count(note["id"]) == 1  # read back from its origin

        # An edit relayed: what the author's server says now is what the blog gets.
        peer.serve("/comment/1", {**note, "content": "<p>Edited on the forum.</p>"})
        update = {"id": peer.url("/activities/update/1"), "type": "Update", "actor": member,
                  "object": {**note, "content": "<p>A forged edit.</p>"}}
        await arrive(config, relayed(peer, group, update, 2))
        assert (await Interaction.get(id=row.id)).content == "<p>Edited on the forum.</p>"

        # A relayed Delete while the comment still exists at its origin: a forgery, ignored.
        delete = {"id": peer.url("/activities/delete/1"), "type": "Delete", "actor": member, "object": note["id"]}
        await arrive(config, relayed(peer, group, delete, 3))
        assert (await Interaction.get(id=row.id)).state is InteractionState.PUBLISHED
        # Once the origin says it is gone, the relayed Delete withdraws it.
        peer.serve("/comment/1", {"error": "gone"}, status=410)
        await arrive(config, relayed(peer, group, delete | {"id": peer.url("/activities/delete/2")}, 4))
        assert (await Interaction.get(id=row.id)).state is InteractionState.DELETED


async def test_a_relayed_activity_its_author_does_not_confirm_is_dropped(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config, lemmy() as (peer, group, member):
        # The origin does not have the note (404), or has it by someone else.
        ghost = comment(peer, 2, member)
        create = {"id": peer.url("/activities/create/2"), "type": "Create", "actor": member, "object": ghost}
        await arrive(config, relayed(peer, group, create, 1))
        peer.serve("/comment/3", {**comment(peer, 3, member), "attributedTo": group})
        create3 = {"id": peer.url("/activities/create/3"), "type": "Create", "actor": member,
                   "object": comment(peer, 3, member)}
        await arrive(config, relayed(peer, group, create3, 2))
        # A member on another host than the activity's id; a Follow is not something a group relays.
        await arrive(config, relayed(peer, group, create | {"actor": "https://elsewhere.example/u/x"}, 3))
        await arrive(config, relayed(peer, group, {"id": peer.url("/activities/follow/1"), "type": "Follow",
                                                   "actor": member, "object": f"{BASE}/users/blog"}, 4))
        assert await Interaction.all().count() == 0 and await Follower.all().count() == 0

        # A relayed Like is read back by its id: it must say the same.
        like = {"id": peer.url("/activities/like/1"), "type": "Like", "actor": member, "object": POST}
        peer.serve("/activities/like/1", like | {"object": "https://elsewhere.example/p/1"})
        await arrive(config, relayed(peer, group, like, 5))
        assert await Interaction.all().count() == 0
        peer.serve("/activities/like/1", like)
        await arrive(config, relayed(peer, group, like, 6))
        assert (await Interaction.get(object_id=like["id"])).kind is InteractionKind.LIKE


async def follower(actor: str, inbox: str) -> Follower:
    return await Follower.create(blog="blog", actor_uri=actor, inbox=inbox, follow_id=f"{actor}#follow",
                                 state=FollowState.ACCEPTED, accepted_at=utcnow())


async def test_a_followers_move_is_carried_over_to_the_new_account(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        old_server, new_server = await Peer.start(), await Peer.start()
        try:
            _, public = keypair("mover")
            old = old_server.actor("bob", public)
            new = new_server.actor("bob", public, alsoKnownAs=[old])
            before = await follower(old, f"{old}/inbox")
            await arrive(config, {"id": f"{old}#moves/1", "type": "Move", "actor": old, "object": old, "target": new})
            after = await Follower.get(id=before.id)
            assert (after.actor_uri, after.inbox, after.shared_inbox, after.state) == (
                new, f"{new}/inbox", f"{new_server.base}/inbox", FollowState.ACCEPTED)
            assert after.accepted_at == before.accepted_at
            assert await RemoteActor.exists(uri=new)
        finally:
            await old_server.close()
            await new_server.close()


async def test_a_move_to_an_account_that_does_not_name_the_old_one_is_refused(
        write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        server = await Peer.start()
        try:
            _, public = keypair("mover")
            old = server.actor("carol", public)
            stranger = server.actor("mallory", public, alsoKnownAs=[f"{server.base}/users/someone-else"])
            merged = server.actor("carol2", public, alsoKnownAs=old)  # a single value, not a list
            row = await follower(old, f"{old}/inbox")
            await arrive(config, {"id": f"{old}#moves/1", "type": "Move", "actor": old, "object": old,
                                  "target": stranger})
            assert (await Follower.get(id=row.id)).actor_uri == old
            # Someone else's Move of carol (object ≠ actor) is not a move of carol.
            await arrive(config, {"id": f"{stranger}#moves/1", "type": "Move", "actor": stranger, "object": old,
                                  "target": stranger})
            assert (await Follower.get(id=row.id)).actor_uri == old
            # Moving to an account that already follows: merged into one follow.
            await follower(merged, f"{merged}/inbox")
            await arrive(config, {"id": f"{old}#moves/2", "type": "Move", "actor": old, "object": old,
                                  "target": merged})
            assert [f.actor_uri for f in await Follower.all()] == [merged]
        finally:
            await server.close()


async def test_a_relayed_activity_with_its_authors_proof_needs_no_fetch(write_config: Callable[..., Path]) -> None:
    """FEP-1b12 + FEP-8b32: the member's proof verifies, so the note is taken as relayed (its
    origin is not asked); a proof that fails drops it."""
    private, public_ed = new_ed25519_pair()
    async with world(write_config) as config, lemmy() as (peer, group, _member):
        _, public = keypair("lemmy")
        member = peer.actor("u/ines", public, name="Inès",
                            assertionMethod=[multikey_document(f"{peer.base}/users/u/ines#ed", f"{peer.base}/users/u/ines",
                                                               public_ed)])
        note = comment(peer, 5, member)  # not served: a fetch would fail
        create = {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
                  "id": peer.url("/activities/create/5"), "type": "Create", "actor": member, "object": note}
        signed = sign_object(create, private, f"{member}#ed", utcnow())
        await arrive(config, relayed(peer, group, signed, 1))
        row = await Interaction.get(object_id=note["id"])
        assert (row.actor_uri, row.author_name, row.content) == (member, "Inès", "<p>From the forum.</p>")
        assert note["id"] not in [s.url for s in peer.seen]

        tampered = {**signed, "id": peer.url("/activities/create/6"),
                    "object": {**note, "id": peer.url("/comment/6"), "content": "<p>Not what she wrote.</p>"}}
        await arrive(config, relayed(peer, group, tampered, 2))
        assert not await Interaction.exists(object_id=peer.url("/comment/6"))
