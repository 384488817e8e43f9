"""The house's rules, checked over the `ast` of every module of bridge/ (docs/architecture.md):

- layers: a module imports its own package and lower layers only, never a higher one nor
  a sibling of its own layer (core < config, signatures < blog < as2 < models < db,
  migrations < jobs < keys, appkeys < net < publish < public < webmention < inbox < ops <
  app < daemon < cli);
- pure packages and modules (the translators) import no aiohttp, tortoise or database
  driver, and only pure modules of ours;
- imports of ours are absolute (greppable) and name modules that exist;
- no module over 400 lines, none named like a standard-library module.
The checker is tried on bad modules too, so the test is seen to fail where it must.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parent.parent / "bridge"

# Lowest first. A package (or top-level module) imports its own package and lower layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bridge",),  # the package itself: __version__
    ("bridge.core",),
    ("bridge.config", "bridge.signatures"),
    ("bridge.blog",),
    ("bridge.as2",),
    ("bridge.models",),
    ("bridge.db", "bridge.migrations"),
    ("bridge.jobs",),
    ("bridge.keys", "bridge.appkeys"),
    ("bridge.net",),
    ("bridge.publish",),
    ("bridge.public",),
    ("bridge.webmention",),
    ("bridge.inbox",),
    ("bridge.ops",),
    ("bridge.app",),
    ("bridge.daemon",),
    ("bridge.cli",),
    ("bridge.__main__",),
)
PURE_PACKAGES = ("bridge.core", "bridge.config", "bridge.signatures", "bridge.blog", "bridge.as2")
PURE_MODULES = ("bridge", "bridge.jobs.retry", "bridge.public.webfinger", "bridge.public.nodeinfo",
                "bridge.public.comments", "bridge.public.intents", "bridge.ops.admin.charts",
                "bridge.webmention.discovery", "bridge.webmention.hentry", "bridge.webmention.wordpress",
                "bridge.inbox.verify")
IMPURE = ("aiohttp", "tortoise", "asyncpg", "aiosqlite", "multidict", "yarl", "sqlite3")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(BRIDGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(BRIDGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The layer unit a module belongs to: its package under bridge/, or the top-level module."""
    for units in LAYERS:
        for unit in sorted(units, key=len, reverse=True):
            if unit != "bridge" and (module == unit or module.startswith(unit + ".")):
                return unit
    return "bridge"


RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def is_pure(module: str) -> bool:
    return module in PURE_MODULES or any(module == p or module.startswith(p + ".") for p in PURE_PACKAGES)


def imports(source: str) -> list[tuple[int, str, int]]:
    """(line, imported module, relative level) of every import statement, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, node.module or "", node.level))
            elif node.module == "bridge" or (node.module or "").startswith("bridge."):
                # `from bridge.x import y` may name a module y: count it as importing bridge.x.y if it is one.
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.append((node.lineno, candidate if candidate in MODULES else node.module, 0))
            else:
                found.append((node.lineno, node.module or "", 0))
    return found


def violations(module: str, source: str) -> list[str]:
    """What `module` (with this source) breaks of the house's rules."""
    out = []
    unit = unit_of(module)
    for line, imported, level in imports(source):
        where = f"{module}:{line}"
        if level:
            out.append(f"{where}: relative import (write `from bridge.… import …`)")
            continue
        root = imported.split(".")[0]
        if is_pure(module) and root in IMPURE:
            out.append(f"{where}: a pure module imports {imported}")
        if root != "bridge":
            continue
        if imported not in MODULES:
            out.append(f"{where}: imports {imported}, which does not exist")
            continue
        target = imported
        theirs = unit_of(target)
        if theirs != unit and RANK[theirs] >= RANK[unit]:
            kind = "an upward" if RANK[theirs] > RANK[unit] else "a sideways"
            out.append(f"{where}: {kind} import of {target} ({unit} is below or beside {theirs})")
        if is_pure(module) and not is_pure(target):
            out.append(f"{where}: a pure module imports {target}, which is not pure")
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_module_keeps_to_its_layer(module: str) -> None:
    assert violations(module, MODULES[module].read_text(encoding="utf-8")) == []


def test_every_package_and_module_has_a_layer() -> None:
    units = {unit_of(m) for m in MODULES}
    assert units <= set(RANK), units - set(RANK)
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py" and m.count(".") == 1}
    assert packages <= set(RANK) | {"bridge.migrations"}, packages - set(RANK)


@pytest.mark.parametrize("module", sorted(m for m, p in MODULES.items() if "migrations" not in p.parts))
def test_modules_stay_small_and_do_not_shadow_the_standard_library(module: str) -> None:
    path = MODULES[module]
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path}: {lines} lines (over {MAX_LINES}: is it two concepts?)"
    assert module.rsplit(".", 1)[-1] not in sys.stdlib_module_names, f"{module} is named like the standard library's"


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("bridge.core.clock", "from bridge.app import make_app\n", "an upward import of bridge.app"),
    ("bridge.core.clock", "def f():\n    from bridge.inbox import dispatch\n", "an upward import of bridge.inbox.dispatch"),
    ("bridge.publish.fanout", "from bridge.inbox.follows import answer_follow\n", "an upward import of bridge.inbox"),
    ("bridge.jobs.store", "import bridge.net.fetch\n", "an upward import of bridge.net.fetch"),
    ("bridge.config.load", "from bridge.signatures import Scheme\n", "a sideways import of bridge.signatures"),
    ("bridge.blog.content", "import aiohttp\n", "a pure module imports aiohttp"),
    ("bridge.as2.posts", "from tortoise import fields\n", "a pure module imports tortoise"),
    ("bridge.inbox.verify", "from bridge.net.remote import RemoteActors\n", "which is not pure"),
    ("bridge.net.fetch", "from .guard import check_url\n", "relative import"),
    ("bridge.net.fetch", "from bridge.netguard import check_url\n", "which does not exist"),
])
def test_the_checker_refuses_what_it_must(module: str, source: str, expected: str) -> None:
    assert any(expected in problem for problem in violations(module, source)), violations(module, source)
