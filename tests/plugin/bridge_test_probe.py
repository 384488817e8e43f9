"""A job kind for tests, installed into `bridge` subprocesses through the
`bridge.jobs` entry-point group (see the dist-info beside this file), so the
real `bridge serve` / `bridge worker` run it like any plugin's job."""

from __future__ import annotations

import asyncio
import os
from typing import Any


async def probe(job: Any, ctx: Any) -> None:
    """Sleep `seconds`, then append "JOB_ID PID" to the file `log` (one atomic write)."""
    await asyncio.sleep(float(job.payload.get("seconds", 0)))
    if job.payload.get("fail"):
        raise RuntimeError("probe asked to fail")
    fd = os.open(job.payload["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{job.id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
