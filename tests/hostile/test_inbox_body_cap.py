"""The 1 MB cap answers 413 *before* the whole body is read: proved with raw sockets that
announce (or stream) far more than they ever send, then wait for the answer. If the
server waited for the whole body these clients would wait forever; they give up after
a generous bound instead of hanging the suite, and the test then fails."""

from __future__ import annotations

import asyncio

import pytest

from bridge.config import Config
from tests.hostile.inbox_world import stage
from tests.hostile.table import assert_logged_once, snapshot, watch

BOUND = 30.0  # seconds: a hang guard, not a speed assertion


async def _exchange(port: int, head: bytes, parts: list[bytes]) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        for part in parts:
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/users/blog/inbox", "/inbox"])
async def test_a_huge_content_length_is_refused_before_the_body(database: Config, caplog: pytest.LogCaptureFixture,
                                                                path: str) -> None:
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        before = await snapshot()
        head = (f"POST {path} HTTP/1.1\r\nHost: bridge.example\r\nContent-Type: application/activity+json\r\n"
                f"Content-Length: {50 * 1024 ** 3}\r\n\r\n").encode()
        answer = await _exchange(s.client.server.port, head, [b'{"id": '])  # 7 bytes of 50 GB
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert_logged_once(caplog, "inbox.rejected", "reason=body_too_large")
        assert await snapshot() == before


async def test_an_endless_chunked_stream_is_cut_at_the_cap(database: Config, caplog: pytest.LogCaptureFixture) -> None:
    """1.1 MB of chunks and no final chunk: the answer comes without the stream ending."""
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        before = await snapshot()
        head = (b"POST /inbox HTTP/1.1\r\nHost: bridge.example\r\nContent-Type: application/activity+json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        answer = await _exchange(s.client.server.port, head, [chunk] * 18)  # never the terminating 0-chunk
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert_logged_once(caplog, "inbox.rejected", "reason=body_too_large")
        assert await snapshot() == before
