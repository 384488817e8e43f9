"""The dashboard's interactions page and the followers page's block action.

Interactions (replies, likes, boosts → webmentions) come with issue 7; until that
module is in this tree the page is not offered (BUILT is False).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

BUILT = False


async def held_by_blog() -> dict[str, int] | None:
    """Interactions held for approval per blog; None while interactions are not built."""
    return None


def add_routes(app: web.Application, page: Callable[..., Any], render: Callable[..., Any],
               back: Callable[..., Any], field: Callable[..., str]) -> None:
    """Nothing to add while interactions are not built."""
