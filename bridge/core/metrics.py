"""Process metrics in the Prometheus text exposition format (version 0.0.4), for `/metrics`.

Counters and histograms live in this process (each bridge process is its own scrape
target, as Prometheus expects); the queue depth by kind and state is read from the
database at scrape time, so it is the same whichever process answers.
Written by hand rather than with prometheus_client: the format is a few lines of text,
and the bridge keeps its runtime dependencies few (the tests parse our output with
prometheus_client's own parser).
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections.abc import Iterable, Mapping, Sequence

Labels = tuple[tuple[str, str], ...]

# Seconds: a page fetch on a fast blog is tens of milliseconds, a slow inbox many seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = labels + extra
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def _key(self, labels: Mapping[str, str]) -> Labels:
        if len(labels) == len(self.label_names):  # on every delivery: no sets, no generator
            try:
                return tuple([(name, str(labels[name])) for name in self.label_names])
            except KeyError:
                pass
        raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(labels)}")

    def render(self) -> list[str]:
        # The exposition names a counter family without `_total`; its samples carry it.
        family = self.name.removesuffix("_total")
        lines = [f"# HELP {family} {self.help}", f"# TYPE {family} counter"]
        for key, value in sorted(self._values.items()):
            lines.append(f"{self.name}{_labels(key)} {_number(value)}")
        return lines


class Histogram:
    """Observations counted into cumulative buckets, with their sum and count."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str],
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(label_names)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, seconds: float, **labels: str) -> None:
        key = tuple([(name, str(labels[name])) for name in self.label_names])
        with self._lock:
            # Each observation counts in its own bucket (found by bisection); `render` adds them up.
            counts, total = self._series.setdefault(key, ([0] * len(self.buckets), [0.0]))
            counts[bisect.bisect_left(self.buckets, seconds)] += 1
            total[0] += seconds

    def count(self, **labels: str) -> int:
        key = tuple([(name, str(labels[name])) for name in self.label_names])
        series = self._series.get(key)
        return sum(series[0]) if series else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, (counts, total) in sorted(self._series.items()):
            cumulative = list(itertools.accumulate(counts))
            for bound, n in zip(self.buckets, cumulative, strict=True):
                lines.append(f"{self.name}_bucket{_labels(key, (('le', _number(bound)),))} {n}")
            lines.append(f"{self.name}_sum{_labels(key)} {_number(total[0])}")
            lines.append(f"{self.name}_count{_labels(key)} {cumulative[-1]}")
        return lines


def gauge_lines(name: str, help_text: str, samples: Iterable[tuple[Labels, float]]) -> list[str]:
    """A gauge computed at scrape time (e.g. read from the database)."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples]
    return lines


# Label values of inbox activities: these AS2 types, anything else is "other" (a sender
# cannot grow the number of series by inventing types).
ACTIVITY_TYPES = frozenset({
    "Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Like", "Announce", "Block", "Move",
    "Add", "Remove", "Flag", "EmojiReact", "Question", "QuoteRequest",
})

# -- the bridge's metrics (one set per process) ------------------------------------------

DELIVERIES = Counter("bridge_deliveries_total", "Deliveries to remote inboxes by outcome "
                     "(done, gone, permanent, retry, retry_after, unreachable).", ("outcome",))
INBOX = Counter("bridge_inbox_activities_total", "Activities posted to our inboxes by type and outcome "
                "(accepted, duplicate, or the rejection reason).", ("type", "outcome"))
WEBMENTIONS = Counter("bridge_webmentions_total", "Webmentions sent by outcome (done, retry, dead).",
                      ("outcome",))
JOBS = Counter("bridge_jobs_finished_total", "Job runs by kind and outcome (done, retry, dead; deferred: put back "
               "without an attempt, its host having no free slot).",
               ("kind", "outcome"))
BUGS = Counter("bridge_job_bugs_total", "Jobs that died of a bug in the bridge (its traceback is in the log), "
               "by kind and exception.", ("kind", "error"))
FETCH_SECONDS = Histogram("bridge_fetch_duration_seconds", "Outbound GET latency by outcome (ok, error).",
                          ("outcome",))
DELIVERY_SECONDS = Histogram("bridge_delivery_duration_seconds", "Signed POST latency to inboxes.", ())

ALL: tuple[Counter | Histogram, ...] = (DELIVERIES, INBOX, WEBMENTIONS, JOBS, BUGS, FETCH_SECONDS, DELIVERY_SECONDS)


def render(depth: Iterable[tuple[str, str, int]]) -> str:
    """The whole exposition: this process's counters and histograms, then the queue depth
    `(kind, state, count)` read from the database."""
    lines: list[str] = []
    for metric in ALL:
        lines += metric.render()
    samples = [((("kind", kind), ("state", state)), float(n)) for kind, state, n in depth]
    lines += gauge_lines("bridge_queue_jobs", "Jobs in the queue by kind and state (queued, running, dead).", samples)
    return "\n".join(lines) + "\n"
