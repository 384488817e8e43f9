"""References in ActivityStreams: a property may hold an id or an object with one.

Pure. The first thing every reader of a stranger's document does (`actor`, `object`,
`inReplyTo`, `attributedTo` may each be a string or an embedded object).
"""

from __future__ import annotations

from collections.abc import Mapping


def first_id(value: object) -> str | None:
    """The id of a reference that may also come as a list (`attributedTo`, `inReplyTo`: some
    servers send `["https://…"]` or a list of one object): its first element's."""
    if isinstance(value, list):
        return id_of(value[0]) if value else None
    return id_of(value)


def id_of(value: object) -> str | None:
    """The id of a reference: a string, or an object with a string `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None
