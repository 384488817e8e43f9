"""What a `bridge` command ends with: its exit code, and the error that says why it failed."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2  # done; the operation failed; usage or configuration error


class CommandFailed(Exception):
    """The operation could not be done; the message says why (exit 1)."""
