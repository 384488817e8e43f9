"""An activity as the `inbox.process` job hands it to its handler (bridge/inbox/dispatch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.as2.ids import id_of
from bridge.models import InboxActivity


@dataclass(frozen=True, slots=True)
class Arrival:
    """The stored activity, and its object as found: embedded, fetched (a `Create` sent by
    reference), or a bare id."""

    row: InboxActivity
    object: Any

    @property
    def activity(self) -> dict[str, Any]:
        return self.row.body

    @property
    def actor(self) -> str:
        """The verified signer, who is the activity's actor (bridge/inbox/verify.py)."""
        return self.row.actor

    @property
    def object_id(self) -> str | None:
        return id_of(self.object)
