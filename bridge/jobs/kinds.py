"""Every kind of job the bridge runs, each a small frozen dataclass: its payload, built here only.

A job row stores `kind` and `payload` (JSON). `payload()` writes a spec's fields;
`from_payload` reads them back and checks each field's type, so a handler receives a
typed value or the job dies at once with `BadPayload` (a payload that does not fit its
kind is a bug or a row from an incompatible version: retrying cannot mend it).
The kind names are stored in rows, logs and metrics: never rename one.

Adding a kind: a dataclass here with its `KIND`, a handler `async def (spec, job, ctx)`
in its flow, and one line in `bridge/app.py`'s `BUILTIN_HANDLERS`. Installed packages add
kinds through the `bridge.jobs` entry-point group with plain `(job, ctx)` handlers
(`PluginJob` enqueues them).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from bridge.jobs.retry import PermanentError
from bridge.models import Job

if typing.TYPE_CHECKING:
    from bridge.jobs.store import JobContext

S = TypeVar("S", bound="JobSpec")


class BadPayload(PermanentError):
    """A job's payload does not fit its kind."""


class JobSpec:
    """A kind of job and its payload; subclasses are frozen dataclasses with a `KIND`."""

    KIND: ClassVar[str]
    # Reads and parses pages or fans a post out (CPU and memory, not only the network): at
    # most `queue.heavy_concurrency` of these run at once in a process (bridge/jobs/worker.py).
    # Kinds that mostly wait on the network say False; plugins' kinds count as heavy.
    HEAVY: ClassVar[bool] = True

    @property
    def kind(self) -> str:
        return self.KIND

    def payload(self) -> dict[str, Any]:
        """The JSON stored in the row: every field, None ones left out."""
        return {f.name: value for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if (value := getattr(self, f.name)) is not None}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """The spec a stored payload holds. Raises BadPayload (unknown fields are ignored:
        a newer version may add some)."""
        if not isinstance(payload, Mapping):
            raise BadPayload(f"{cls.KIND}: the payload is a {type(payload).__name__}, not an object")
        values: dict[str, Any] = {}
        for name, allowed, default in _fields(cls):
            value = payload.get(name)
            if value is None and default is not dataclasses.MISSING:
                values[name] = default
                continue
            # bool is an int in Python, never in a payload of ours.
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                raise BadPayload(f"{cls.KIND}: {name} is {value!r}, expected {' or '.join(t.__name__ for t in allowed)}")
            values[name] = value
        return cls(**values)


@functools.cache  # a fan-out reads thousands of payloads of one kind a second
def _fields(cls: type[JobSpec]) -> tuple[tuple[str, tuple[type, ...], Any], ...]:
    """(name, the runtime types its annotation admits, its default) of each field of a kind."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _types(hints[f.name]), f.default) for f in dataclasses.fields(cls))  # type: ignore[arg-type]


def _types(hint: Any) -> tuple[type, ...]:
    """The runtime types a field's annotation admits (`str | None` → (str, NoneType))."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(t for arg in typing.get_args(hint) for t in _types(arg))
    origin = typing.get_origin(hint)
    return (origin,) if origin is not None else (hint,)


@dataclass(frozen=True, slots=True)
class Poll(JobSpec):
    """Poll one blog's feed (bridge/publish/polling.py)."""

    KIND: ClassVar[str] = "blog.poll"
    blog: str


@dataclass(frozen=True, slots=True)
class Publish(JobSpec):
    """Build the Create, Update or Delete of a post and fan it out (bridge/publish/fanout.py)."""

    KIND: ClassVar[str] = "publish"
    blog: str
    post: int  # the BlogPost row
    change: str  # "new", "changed" or "gone"


@dataclass(frozen=True, slots=True)
class ActorUpdate(JobSpec):
    """Send an `Update` of a blog's actor to its followers (bridge/publish/fanout.py)."""

    KIND: ClassVar[str] = "deliver.actor_update"
    actor: str  # the blog's name
    reason: str


@dataclass(frozen=True, slots=True)
class Deliver(JobSpec):
    """One activity to one inbox, signed as a blog (bridge/publish/delivery.py).

    `activity`: the activity itself (a one-off, such as an Accept), or `activity_ref`: the
    row of an OutboundActivity (a fan-out's, stored once for all its deliveries).
    `follower`: the follower whose personal inbox this is (a 410 removes it)."""

    KIND: ClassVar[str] = "deliver"
    HEAVY: ClassVar[bool] = False  # waits on the network
    actor: str  # the blog's name
    inbox: str
    activity: dict[str, Any] | None = None
    activity_ref: int | None = None
    follower: str | None = None

    def __post_init__(self) -> None:
        if (self.activity is None) == (self.activity_ref is None):
            raise BadPayload("deliver: exactly one of activity and activity_ref")


@dataclass(frozen=True, slots=True)
class ProcessInbox(JobSpec):
    """Act on one stored inbox activity (bridge/inbox/dispatch.py).

    The PostgreSQL inbox batch builds this payload in SQL from the stored rows
    (bridge/inbox/store.py, `sql_payload`): its fields are columns of `inbox_activities`."""

    KIND: ClassVar[str] = "inbox.process"
    HEAVY: ClassVar[bool] = False  # waits on the network
    inbox_activity: int  # the InboxActivity row
    activity_id: str
    type: str
    recipient: str | None = None  # the blog whose inbox it came to; None: the shared inbox

    @classmethod
    def sql_payload(cls) -> str:
        """`jsonb_build_object(…)` of a row of `inbox_activities`, as `payload()` writes it."""
        columns = {"inbox_activity": "id"}
        pairs = ", ".join(f"'{f.name}', {columns.get(f.name, f.name)}" for f in dataclasses.fields(cls))
        return f"jsonb_strip_nulls(jsonb_build_object({pairs}))"


@dataclass(frozen=True, slots=True)
class Ping(JobSpec):
    """The blog's webmention ping: verify the link and publish the source (bridge/webmention/receive.py)."""

    KIND: ClassVar[str] = "webmention.ping"
    blog: str
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class SendWebmention(JobSpec):
    """Send an interaction's webmention to the blog (bridge/webmention/send.py)."""

    KIND: ClassVar[str] = "webmention.send"
    HEAVY: ClassVar[bool] = False  # waits on the network
    interaction: int  # the Interaction row
    reason: str


@dataclass(frozen=True, slots=True)
class ReconcileBluesky(JobSpec):
    """Make a blog's follow of Bridgy Fed's Bluesky bot what its config says: Follow when it opts
    in, Undo when it opts out, nothing twice (bridge/publish/following.py)."""

    KIND: ClassVar[str] = "bluesky.reconcile"
    HEAVY: ClassVar[bool] = False  # waits on the network (WebFinger, the bot's actor)
    blog: str


@dataclass(frozen=True, slots=True)
class PluginJob(JobSpec):
    """A kind an installed package handles (entry-point group `bridge.jobs`), payload as given."""

    name: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.name

    def payload(self) -> dict[str, Any]:
        return dict(self.data)


BUILTIN_KINDS: tuple[type[JobSpec], ...] = (Poll, Publish, ActorUpdate, Deliver, ProcessInbox, Ping, SendWebmention,
                                             ReconcileBluesky)
LIGHT_KINDS = frozenset(kind.KIND for kind in BUILTIN_KINDS if not kind.HEAVY)

Handler = Callable[[Job, "JobContext"], Awaitable[None]]
TypedHandler = Callable[[S, Job, "JobContext"], Awaitable[None]]


def typed(spec: type[S], handler: TypedHandler[S]) -> tuple[str, Handler]:
    """`(kind, handler)` for the worker: the handler gets the payload read as `spec`."""

    async def run(job: Job, ctx: JobContext) -> None:
        await handler(spec.from_payload(job.payload), job, ctx)

    run.__name__ = getattr(handler, "__name__", spec.KIND)
    return spec.KIND, run
