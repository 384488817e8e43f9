"""The `bridge` command line (also `python -m bridge`): the parser and the entry point in
bridge/cli/main.py, the commands in bridge/cli/commands.py and bridge/cli/interactions.py."""

from bridge.cli.main import main, run

__all__ = ["main", "run"]
