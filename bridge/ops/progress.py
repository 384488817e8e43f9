"""Feedback on long command-line work: a progress bar redrawn in place on a terminal,
plain lines (one per step, nothing redrawn) when the output is a pipe or a log file."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Progress:
    """`step(text)` once per unit of work; `done()` at the end. `total` may be set later."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None,
                 tty: bool | None = None) -> None:
        self.label, self.total, self.count = label, total, 0
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._drawn = False

    def step(self, text: str) -> None:
        self.count += 1
        if not self.tty:
            print(f"  {text}", file=self.stream, flush=True)
            return
        self._draw(text)

    def _draw(self, text: str) -> None:
        width = shutil.get_terminal_size((80, 20)).columns
        if self.total:
            done = min(self.count, self.total)
            bar_width = max(10, min(30, width // 4))
            filled = bar_width * done // self.total
            head = f"{self.label} [{'#' * filled}{'.' * (bar_width - filled)}] {done}/{self.total} "
        else:
            head = f"{self.label} {self.count} "
        line = (head + text)[: max(10, width - 1)]
        self.stream.write("\r\x1b[2K" + line)
        self.stream.flush()
        self._drawn = True

    def note(self, text: str) -> None:
        """A line that stays (a failure worth reading), above the bar."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[2K")
        print(f"  {text}", file=self.stream, flush=True)

    def done(self, summary: str) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[2K")
        seconds = time.monotonic() - self.started
        print(f"{summary} ({seconds:.1f} s)" if self.tty else summary, file=self.stream, flush=True)
