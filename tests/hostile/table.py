"""The shared table format of the hostile-input suite: one `Case` per bad input, one
module per door (tests/hostile/test_doors_*.py), one checker.

Every case states the answer it must get (`status` and `reason`, the machine-readable
`error` of the JSON answer, or for config/CLI the exit code and the key named) and is
run the same way: the database snapshotted (every row of every table), the input
sent, the answer compared, exactly one log record of the door's refusal event
asserted, the snapshot compared again. A door added later (admin forms, interaction
pages) is a new module with a new list of `Case`s.

With `BRIDGE_HOSTILE_REPORT=FILE` each case's outcome is appended to FILE as one JSON
line, which bench/reliability.py turns into docs/reliability.md.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from tortoise import Tortoise

REPORT_ENV = "BRIDGE_HOSTILE_REPORT"


@dataclass(frozen=True)
class Case:
    """One bad input at one door and the answer it must get."""

    name: str  # what is tried, for people: "truncated JSON"
    status: int  # the HTTP status, or the exit code for config and CLI
    reason: str  # the `error` of the answer, or the key a config error names
    send: Any = None  # the input, in the door module's own terms
    options: dict[str, Any] = field(default_factory=dict)  # door-specific knobs

    def __str__(self) -> str:
        return self.name


def ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "value") and not isinstance(value, (int, str, float)):
        return value.value  # enums
    return value


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in id order: what "nothing changed" compares."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, model in Tortoise.apps["bridge"].items():
        rows = await model.all().order_by(model._meta.pk_attr).values()
        tables[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return tables


def refusals(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    """The log messages of one refusal event (`inbox.rejected`, `ping.refused`, …)."""
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(event)]


def assert_logged_once(caplog: pytest.LogCaptureFixture, event: str, reason: str) -> str:
    lines = refusals(caplog, event)
    assert len(lines) == 1, f"expected one {event} record, got {lines}"
    assert reason in lines[0], lines[0]
    return lines[0]


def record(door: str, case: Case, *, got_status: int, got_reason: str, detail: str, db_unchanged: bool) -> None:
    """Append the outcome to the report file, when one is asked for."""
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    line = {"door": door, "case": case.name, "expected_status": case.status, "expected_reason": case.reason,
            "status": got_status, "reason": got_reason, "detail": detail[:200], "db_unchanged": db_unchanged}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def watch(caplog: pytest.LogCaptureFixture, *loggers: str) -> None:
    for name in loggers:
        caplog.set_level(logging.INFO, name)
