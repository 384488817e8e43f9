"""Logging: one line per event on stderr, ``time level logger event key=value …``.

Events are named (`job.done`, `worker.start`, `http.request`…) so an operator
can grep them. Nothing here ever formats a secret: callers log redacted URLs.
"""

from __future__ import annotations

import logging
import sys
import time

# aiohttp's access log, in the same key=value shape as our own events.
ACCESS_LOG_FORMAT = 'http.request remote=%a request="%r" status=%s bytes=%b seconds=%Tf agent="%{User-Agent}i"'


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def setup_logging(level: str = "info") -> None:
    """Send our events (and aiohttp's access log) to stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UTCFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries: warnings and worse only
    logging.getLogger("bridge").setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if level == "debug" or level == "info" else level.upper())
    # tortoise logs every SQL statement with its parameters at DEBUG: never ours to show.
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("tortoise.db_client").setLevel(logging.WARNING)
