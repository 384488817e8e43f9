"""django-wm (PyPI) as a running webmention receiver: the blog's side in the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]


class WmReceiver:
    """`django-admin runserver` of tests/wmreceiver on 127.0.0.1:`port`, its database in `folder`."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.env = {**os.environ, "WMRECEIVER_DIR": str(folder), "DJANGO_SETTINGS_MODULE": "tests.wmreceiver.settings",
                    "PYTHONPATH": str(REPO)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "django.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/webmention/"

    async def start(self) -> WmReceiver:
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=self.env, check=True, cwd=REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            env=self.env, cwd=REPO, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/recorded") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(f"django-wm did not start: {self.log.read_text(errors='replace')[-3000:]}")
                await asyncio.sleep(0.2)

    async def process(self) -> None:
        """Run django-wm's `mentions_pending`: it verifies and parses what it accepted."""
        async with aiohttp.ClientSession() as session, session.post(f"http://127.0.0.1:{self.port}/process") as r:
            assert r.status == 200, await r.text()

    async def recorded(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{self.port}/recorded") as r:
            data: dict[str, Any] = await r.json()
            return data

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
