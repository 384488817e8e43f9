"""The overview's History: deliveries and failures per hour over the last 7 days, followers
at the end of each of the last 30 days, interactions per day over the same 30, per blog,
read from the database and drawn by bridge/ops/admin/charts.py. An edge (tortoise only);
the bucketing is pure and in UTC.

Where each comes from, so that each is true, and cheap with a million finished jobs:
- deliveries: `history_counts` (bridge/models/history.py), counted by a trigger as each
  delivery job ends, so the chart outlives `queue.keep_done_days` and reads at most
  168 rows per blog and writer, never the jobs themselves;
- followers: today's count, less the current followers accepted since each day (their
  `accepted_at`, indexed), plus those removed since who were there that day (the removals
  `history_counts` keeps with the day each had been accepted). Removals before migration
  0013 are not known: before it the line counts the followers still here;
- interactions: their rows' `created_at` (indexed; interactions are never deleted).
Windows are bounded. The counts are bucketed here, in Python; the rows per day of followers and
interactions by the database (a day expression for each, SQLite's and PostgreSQL's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from tortoise import connections
from tortoise.functions import Count

from bridge.config import Config
from bridge.core.clock import utcnow
from bridge.models import Follower, FollowState, HistoryWhat
from bridge.ops.admin.charts import Axis, Series, bar_chart, line_chart, number

HOURS = 7 * 24  # the deliveries chart: one bar an hour
DAYS = 30  # the followers and interactions charts: one point or bar a day
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Figure:
    """One chart with its words: a title, a one-line summary, and the same numbers as a table."""

    key: str  # deliveries | followers | interactions
    title: str
    summary: str
    svg: Markup
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]] = ()


@dataclass
class BlogHistory:
    blog: str
    figures: list[Figure]


# -- bucketing (pure) ---------------------------------------------------------------------


def hour_of(when: datetime) -> datetime:
    """The start of the UTC hour `when` falls in."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(when: datetime) -> datetime:
    """The start of the UTC day `when` falls in."""
    return hour_of(when).replace(hour=0)


def buckets(events: Iterable[tuple[datetime, int]], first: datetime, size: int, width: timedelta) -> list[int]:
    """Counts per bucket of `width` from `first` (a bucket's start, UTC); events outside are left out."""
    out = [0] * size
    for when, n in events:
        index = (when.astimezone(UTC) - first) // width
        if 0 <= index < size:
            out[index] += n
    return out


def followers_by_day(now_count: int, joined: Iterable[tuple[datetime, int]],
                     left: Iterable[tuple[datetime, datetime, int]], first: datetime, days: int) -> list[int]:
    """The follower count at the end of each day from `first` (the last day is today: `now_count`).
    `joined`: current followers by when they were accepted; `left`: (removed at, day accepted, n)."""
    per_day = buckets(joined, first, days, DAY)
    later = sum(n for when, n in joined if when.astimezone(UTC) >= first + days * DAY)  # a clock ahead
    counts = [0] * days
    for index in reversed(range(days)):  # not yet following at the end of that day
        counts[index] = now_count - later
        later += per_day[index]
    for when, since, n in left:  # still following at the end of that day: accepted before, removed after
        for index in range(days):
            end = first + (index + 1) * DAY
            if since < end <= when:
                counts[index] += n
    return counts


def day_ticks(first: datetime, size: int, width: timedelta, every: int = 1) -> tuple[tuple[int, str], ...]:
    """A tick at each UTC midnight in the window (every `every` days, counted back from the last)."""
    out = []
    last_day = day_of(first + (size - 1) * width)
    day = last_day
    while day >= first:
        index = int((day - first) / width)
        out.append((index, _day(day)))
        day -= every * DAY
    return tuple(reversed(out))


# -- reading ------------------------------------------------------------------------------


async def history(config: Config, followers: Mapping[str, int] | None = None,
                  now: datetime | None = None) -> list[BlogHistory]:
    """The three figures of each configured blog. `followers`: each blog's accepted followers now,
    when the caller has counted them already (the overview has)."""
    now = now or utcnow()
    first_hour = hour_of(now) - (HOURS - 1) * HOUR
    first_day = day_of(now) - (DAYS - 1) * DAY
    names = [blog.name for blog in config.blogs]
    delivered: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    failed: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    left: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for blog, what, hour, since, n in await _counts(first_day):
        if what == HistoryWhat.UNFOLLOWED:
            left[blog].append((hour, since, n))
        elif hour >= first_hour:
            (delivered if what == HistoryWhat.DELIVERED else failed)[blog].append((hour, n))
    totals = followers if followers is not None else dict(
        await Follower.filter(state=FollowState.ACCEPTED, blog__in=names).annotate(n=Count("id"))
        .group_by("blog").values_list("blog", "n"))
    joined = await _per_day("followers", "accepted_at", first_day, FollowState.ACCEPTED.value)
    interactions = await _per_day("interactions", "created_at", first_day)
    out = []
    for i, name in enumerate(names):
        hourly = (buckets(delivered[name], first_hour, HOURS, HOUR), buckets(failed[name], first_hour, HOURS, HOUR))
        follows = followers_by_day(int(totals.get(name, 0)), joined[name], left[name], first_day, DAYS)
        daily = buckets(interactions[name], first_day, DAYS, DAY)
        out.append(BlogHistory(name, [deliveries_figure(f"chart-{i}-deliveries", first_hour, *hourly),
                                      followers_figure(f"chart-{i}-followers", first_day, follows),
                                      interactions_figure(f"chart-{i}-interactions", first_day, daily)]))
    return out


async def _counts(since: datetime) -> list[tuple[str, str, datetime, datetime, int]]:
    """The history counts from `since` on (the unique index's range), with the database's
    own rows for the times: the ORM's parsing of 700 timestamps costs more than the query."""
    mark = "$1" if connections.get("default").capabilities.dialect == "postgres" else "?"
    rows = await connections.get("default").execute_query_dict(
        f"SELECT blog, what, hour, since, n FROM history_counts WHERE hour >= {mark}", [since])
    return [(str(r["blog"]), str(r["what"]), _time(r["hour"]), _time(r["since"]), int(r["n"])) for r in rows]


def _time(value: object) -> datetime:
    """A time as the driver gives it: asyncpg a datetime, SQLite the ORM's ISO text (UTC)."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def _per_day(table: str, column: str, since: datetime, state: str | None = None) -> dict[str, list[tuple[datetime, int]]]:
    """blog -> (UTC day, rows) of a table's rows whose `column` is `since` or later (an index scan),
    counted by the database: read one by one through the ORM, a busy month's rows cost a
    third of a second. The day is text in both databases (SQLite stores ISO text in UTC)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        day, marks = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')", ["$1", "$2"]
    else:
        day, marks = f"substr({column}, 1, 10)", ["?", "?"]
    where = f"{column} >= {marks[0]}" + (f" AND state = {marks[1]}" if state is not None else "")
    _n, rows = await conn.execute_query(f"SELECT blog, {day}, COUNT(*) FROM {table} WHERE {where} GROUP BY 1, 2",
                                        [since] + ([state] if state is not None else []))
    out: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for row in rows:
        blog, text, n = list(row.values()) if hasattr(row, "values") else list(row)
        out[str(blog)].append((datetime.strptime(str(text), "%Y-%m-%d").replace(tzinfo=UTC), int(n)))
    return out


# -- figures (pure) -----------------------------------------------------------------------


def deliveries_figure(chart_id: str, first: datetime, delivered: Sequence[int], failed: Sequence[int]) -> Figure:
    total, lost = sum(delivered), sum(failed)
    summary = f"{number(total)} delivered, {number(lost)} failed in the last 7 days"
    if total:
        busiest = max(range(len(delivered)), key=lambda j: (delivered[j], j))
        summary += f"; the busiest hour {_day(first + busiest * HOUR)}, {first + busiest * HOUR:%H}:00 UTC " \
                   f"({number(delivered[busiest])})"
    axis = Axis(len(delivered), day_ticks(first, len(delivered), HOUR, every=2))
    svg = bar_chart(chart_id, "Deliveries per hour, last 7 days (UTC)", summary + ".", axis,
                    [Series("delivered", tuple(delivered)), Series("failed", tuple(failed), "bad")])
    by_day: dict[datetime, list[int]] = {}
    for j, (done, dead) in enumerate(zip(delivered, failed, strict=True)):
        sums = by_day.setdefault(day_of(first + j * HOUR), [0, 0])
        sums[0], sums[1] = sums[0] + done, sums[1] + dead
    rows = [(f"{day:%Y-%m-%d}", number(done), number(dead)) for day, (done, dead) in sorted(by_day.items(), reverse=True)]
    return Figure("deliveries", "Deliveries", summary, Markup(svg), ("day (UTC)", "delivered", "failed"), rows)


def followers_figure(chart_id: str, first: datetime, counts: Sequence[int]) -> Figure:
    change = counts[-1] - counts[0]
    summary = f"{number(counts[-1])} now, {'+' if change >= 0 else '−'}{number(abs(change))} in 30 days"
    axis = Axis(len(counts), day_ticks(first, len(counts), DAY, every=7))
    svg = line_chart(chart_id, "Followers at the end of each day, last 30 days (UTC)", summary + ".", axis,
                     Series("followers", tuple(counts)))
    rows = [(f"{first + j * DAY:%Y-%m-%d}", number(n)) for j, n in enumerate(counts)]
    return Figure("followers", "Followers", summary, Markup(svg), ("day (UTC)", "followers"), rows[::-1])


def interactions_figure(chart_id: str, first: datetime, counts: Sequence[int]) -> Figure:
    summary = f"{number(sum(counts))} in 30 days"
    if any(counts):
        busiest = max(range(len(counts)), key=lambda j: (counts[j], j))
        summary += f"; the most on {_day(first + busiest * DAY)} ({number(counts[busiest])})"
    axis = Axis(len(counts), day_ticks(first, len(counts), DAY, every=7))
    svg = bar_chart(chart_id, "Interactions per day, last 30 days (UTC)", summary + ".", axis,
                    [Series("replies, likes, boosts, quotes", tuple(counts), "ok")])
    rows = [(f"{first + j * DAY:%Y-%m-%d}", number(n)) for j, n in enumerate(counts)]
    return Figure("interactions", "Interactions", summary, Markup(svg), ("day (UTC)", "interactions"), rows[::-1])


def _day(when: datetime) -> str:
    return f"{when:%b} {when.day}"
