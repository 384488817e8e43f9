"""Running real `bridge` processes in tests: start, wait until they answer, signal, read logs."""

from __future__ import annotations

import asyncio
import signal as signals
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp


class BridgeProcess:
    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signals.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"bridge did not exit within {timeout}s; logs:\n{self.logs()}")
            await asyncio.sleep(0.05)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    async def wait_http(self, url: str, timeout: float = 60) -> aiohttp.ClientResponse:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"bridge exited with {self.proc.returncode}; logs:\n{self.logs()}")
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        return resp
                except aiohttp.ClientConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Poll `check` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)
