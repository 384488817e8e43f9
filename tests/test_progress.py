"""Progress on long CLI work: a bar redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from bridge.ops.progress import Progress


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = Progress("blog:", total=2, stream=out, tty=False)
    bar.step("new       https://blog.example/a")
    bar.step("unchanged https://blog.example/b")
    bar.done("2 items")
    assert out.getvalue() == "  new       https://blog.example/a\n  unchanged https://blog.example/b\n2 items\n"
    assert "\r" not in out.getvalue()


def test_a_bar_on_a_terminal_with_notes_that_stay() -> None:
    out = io.StringIO()
    bar = Progress("blog:", stream=out, tty=True)
    bar.total = 4
    bar.step("unchanged https://blog.example/a")
    bar.note("new       https://blog.example/b")
    bar.step("new       https://blog.example/b")
    bar.done("4 items")
    text = out.getvalue()
    assert "\r\x1b[2Kblog: [" in text and "] 1/4 unchanged https://blog.example/a" in text
    assert "] 2/4 new" in text
    assert "  new       https://blog.example/b\n" in text  # the note is a line of its own
    assert text.rstrip().split("\x1b[2K")[-1].startswith("4 items (")
