"""A short run of bench/load_inbox.py (3 s instead of 60): signed activities from a
separate process while a fan-out runs; every accepted activity stored and processed.
No timing is asserted: the figures are the bench's business."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "bench" / "load_inbox.py"


async def test_a_short_load_run_loses_nothing(tmp_path: Path, bridge_env: dict[str, str]) -> None:
    out = tmp_path / "load.json"
    proc = await asyncio.create_subprocess_exec(sys.executable, str(BENCH), "--seconds", "3", "--json", str(out),
                                                env=bridge_env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, output.decode()[-3000:]
    figures = json.loads(out.read_text())
    assert figures["answered_202"] > 0 and figures["failed"] == 0 and figures["refused"] == 0
    assert figures["lost"] == 0
    assert figures["stored"] == figures["processed"] == figures["distinct_accepted"] == figures["inbox_rows"]
    assert figures["deliveries_done"] == figures["deliveries"] and figures["deliveries_dead"] == 0
    assert figures["accepts_received"] == figures["follows_accepted"]  # every Follow answered
