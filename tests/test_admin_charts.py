"""The overview's History: the SVG for known series (bars and points where expected, every
text escaped, "no data yet"), the bucketing in UTC across a day boundary, the counts the
triggers keep (a delivery that ends, a follower removed), the charts on the overview page,
and in a real browser at laptop and phone widths (skipped like tests/test_admin_browser.py
when Debian's chromium is absent outside CI)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from tortoise import connections

from bridge.app import make_app
from bridge.config import Config, load_config
from bridge.core.clock import utcnow
from bridge.models import (
    Follower,
    FollowState,
    HistoryCount,
    HistoryWhat,
    Job,
    JobState,
)
from bridge.ops.admin import charts
from bridge.ops.admin.charts import Axis, Series, bar_chart, line_chart
from bridge.ops.admin.history import (
    DAY,
    DAYS,
    HOUR,
    HOURS,
    buckets,
    day_of,
    day_ticks,
    followers_by_day,
    history,
    hour_of,
)

from .admin_seed import (
    ARTIFACTS,
    TOKEN,
    chromium,
    readme_shot,
    requires_chromium,
    seed_history,
)
from .test_admin import logged_in, open_client

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    """The SVG as XML: well-formed, or the test fails here."""
    return ET.fromstring(svg)


def bars(svg: str) -> list[ET.Element]:
    return [r for g in parsed(svg).iter(f"{SVG}g") if "bars" in (g.get("class") or "") for r in g]


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in parsed(svg).iter(f"{SVG}text")]


def at(element: ET.Element, name: str) -> float:
    """A number attribute of an SVG element."""
    return float(element.get(name) or "nan")


def text_of(svg: str, tag: str) -> str:
    found = parsed(svg).find(f"{SVG}{tag}")
    assert found is not None, tag
    return found.text or ""


def polyline(svg: str) -> list[tuple[float, float]]:
    found = parsed(svg).find(f".//{SVG}polyline")
    assert found is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in (found.get("points") or "").split())]


# -- the SVG, pure -------------------------------------------------------------------------


def test_a_bar_chart_draws_one_bar_per_non_zero_bucket_scaled_to_its_maximum() -> None:
    svg = bar_chart("c-1", "Deliveries", "12 delivered.", Axis(4, ((0, "Mar 1"), (2, "Mar 2"))),
                    [Series("delivered", (0, 4, 8, 0))])
    root = parsed(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-1-title c-1-desc"
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.PANEL_GAP + charts.PANEL + charts.AXIS}"
    assert root.get("width") == "100%"
    assert text_of(svg, "title") == "Deliveries" and text_of(svg, "desc") == "12 delivered."
    drawn = bars(svg)
    assert [at(r, "height") for r in drawn] == [charts.PANEL / 2, charts.PANEL]
    step = (charts.WIDTH - charts.GUTTER - charts.RIGHT) / 4
    assert [round(at(r, "x"), 1) for r in drawn] == [round(charts.GUTTER + i * step + step * .1, 1) for i in (1, 2)]
    base = charts.PANEL_GAP + charts.PANEL
    assert all(round(at(r, "y") + at(r, "height"), 1) == base for r in drawn)  # on the baseline
    labels = texts(svg)
    assert "8" in labels and "0" in labels and "delivered" in labels  # the maximum, the baseline, the name
    assert ["Mar 1", "Mar 2"] == [t for t in labels if t.startswith("Mar")]
    assert charts.NO_DATA not in svg


def test_each_series_has_its_own_panel_and_scale_and_one_failure_stays_visible() -> None:
    svg = bar_chart("c-2", "t", "d", Axis(3), [Series("delivered", (5000, 10000, 0)), Series("failed", (0, 1, 0), "bad")])
    groups = [g for g in parsed(svg).iter(f"{SVG}g") if "bars" in (g.get("class") or "")]
    assert [g.get("class") for g in groups] == ["bars tone-accent", "bars tone-bad"]
    assert [len(g) for g in groups] == [2, 1]
    assert at(groups[1][0], "height") == charts.PANEL  # 1 is the failures' maximum
    assert {"10,000", "1", "delivered", "failed"} <= set(texts(svg))
    tiny = bar_chart("c-3", "t", "d", Axis(2), [Series("delivered", (100000, 1))])
    assert at(bars(tiny)[1], "height") == 1.0  # never thinner than one unit


def test_a_line_chart_has_a_point_per_bucket_between_its_smallest_and_largest_value() -> None:
    svg = line_chart("f-1", "Followers", "d", Axis(3, ((0, "Mar 1"),)), Series("followers", (10, 12, 11)))
    points = polyline(svg)
    assert len(points) == 3
    top, base = charts.PANEL_GAP, charts.PANEL_GAP + charts.PANEL
    assert [y for _x, y in points] == [base, top, (top + base) / 2]
    assert points[0][0] == charts.GUTTER and points[-1][0] == charts.WIDTH - charts.RIGHT
    assert {"10", "12", "followers", "Mar 1"} <= set(texts(svg))
    flat = line_chart("f-2", "t", "d", Axis(2), Series("followers", (7, 7)))
    assert {y for _x, y in polyline(flat)} == {(top + base) / 2}


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & \'q\''
    svg = bar_chart("c-4", hostile, hostile, Axis(2, ((0, hostile),)), [Series(hostile, (1, 2))])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg
    assert text_of(svg, "title") == hostile and text_of(svg, "desc") == hostile
    assert texts(svg).count(hostile) == 2  # the series' name and the tick label, as text
    for bad_id in ('x" onload="alert(1)', "Chart", "", "1-a"):
        with pytest.raises(ValueError):
            bar_chart(bad_id, "t", "d", Axis(1), [Series("s", (1,))])
    with pytest.raises(ValueError):
        bar_chart("c-5", "t", "d", Axis(3), [Series("s", (1, 2))])  # a value per bucket
    with pytest.raises(ValueError):
        bar_chart("c-5", "t", "d", Axis(1), [Series("s", (1,), 'x"')])  # a tone of the stylesheet's


def test_no_data_says_so() -> None:
    for svg in (bar_chart("e-1", "Deliveries", "0 delivered.", Axis(168), [Series("delivered", (0,) * 168),
                                                                            Series("failed", (0,) * 168, "bad")]),
                line_chart("e-2", "Followers", "0 now.", Axis(30), Series("followers", (0,) * 30))):
        assert charts.NO_DATA in texts(svg)
        assert bars(svg) == [] and parsed(svg).find(f".//{SVG}polyline") is None
        assert text_of(svg, "desc").endswith("No data yet.")


# -- bucketing, pure, in UTC ---------------------------------------------------------------


def test_hours_and_days_are_utc_whatever_the_offset_given() -> None:
    paris_late = datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 22:30 UTC on Mar 1
    assert hour_of(paris_late) == datetime(2026, 3, 1, 22, tzinfo=UTC)
    assert day_of(paris_late) == datetime(2026, 3, 1, tzinfo=UTC)


def test_bucketing_across_a_day_boundary() -> None:
    first = datetime(2026, 3, 1, 22, tzinfo=UTC)
    before, after = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    events = [(before, 2), (after, 5), (after + timedelta(minutes=59), 1), (first - timedelta(seconds=1), 100),
              (first + 4 * HOUR, 100)]  # the last two outside the four hours
    assert buckets(events, first, 4, HOUR) == [0, 2, 6, 0]
    assert buckets(events, day_of(first), 2, DAY) == [2 + 100, 6 + 100]
    assert buckets([(after.astimezone(timezone(timedelta(hours=-5))), 1)], day_of(first), 2, DAY) == [0, 1]
    assert day_ticks(first, 4, HOUR) == ((2, "Mar 2"),)  # midnight UTC is bucket 2


def test_followers_by_day_adds_back_who_left_and_takes_off_who_joined_later() -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC)
    joined = [(first + timedelta(days=1, hours=23, minutes=59), 1), (first + timedelta(days=3), 1)]
    left = [(first + timedelta(days=2, hours=5), first - timedelta(days=9), 2),  # followed before, left on day 2
            (first + timedelta(days=2), first + timedelta(days=1), 1)]  # joined and left after day 0
    assert followers_by_day(10, joined, left, first, 4) == [10 - 2 + 2, 10 - 1 + 2 + 1, 10 - 1, 10]


# -- what the triggers count ---------------------------------------------------------------


async def _no_counts() -> None:
    # PostgreSQL's test reset deletes the followers after it empties this table: start clean.
    await HistoryCount.all().delete()


async def test_a_delivery_that_ends_is_counted_once_in_its_hour_by_the_queues_own_sql(database: Config) -> None:
    from bridge.jobs.sql import record_done

    await _no_counts()
    now = datetime.now(UTC)
    jobs = [await Job.create(kind=kind, payload=payload, state=JobState.RUNNING, lease_owner="w1", run_after=now)
            for kind, payload in (("deliver", {"actor": "blog", "inbox": "https://a.example/inbox"}),
                                  ("deliver", {"actor": "other", "inbox": "https://a.example/inbox"}),
                                  ("deliver", {"actor": "blog", "inbox": "https://b.example/inbox"}),
                                  ("webmention.send", {"blog": "blog"}))]
    await record_done("w1", [j.id for j in jobs[:2] + jobs[3:]], now)
    assert await Job.filter(state=JobState.DONE).count() == 3
    await Job.filter(id=jobs[2].id).update(state=JobState.DEAD, finished_at=now, last_error="410")
    await Job.filter(id=jobs[0].id).update(state=JobState.DONE)  # no change of state: not counted again
    await Job.filter(id=jobs[2].id).update(state=JobState.QUEUED)  # retried by the operator: the failure stays
    rows = {(r.blog, r.what, r.hour, r.since, r.n) for r in await HistoryCount.all()}
    hour = hour_of(now)
    assert rows == {("blog", HistoryWhat.DELIVERED, hour, hour, 1), ("other", HistoryWhat.DELIVERED, hour, hour, 1),
                    ("blog", HistoryWhat.FAILED, hour, hour, 1)}


async def test_a_follower_removed_is_counted_with_the_day_it_was_accepted(database: Config) -> None:
    from bridge.ops.followers import decide

    await _no_counts()
    accepted = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    for actor, state in (("https://a.example/u/ann", FollowState.ACCEPTED), ("https://a.example/u/pia", FollowState.PENDING)):
        await Follower.create(blog="blog", actor_uri=actor, inbox=f"{actor}/inbox", state=state,
                              accepted_at=accepted if state is FollowState.ACCEPTED else None)
    before = hour_of(datetime.now(UTC))
    await decide(database, "remove", "https://a.example/u/ann", "blog")
    await decide(database, "reject", "https://a.example/u/pia", "blog")  # a request never accepted: not a follower lost
    [row] = await HistoryCount.all()
    assert (row.blog, row.what, row.since, row.n) == ("blog", HistoryWhat.UNFOLLOWED, datetime(2026, 1, 5, tzinfo=UTC), 1)
    assert before <= row.hour <= hour_of(datetime.now(UTC))


async def test_the_triggers_exist_after_every_migration(database: Config) -> None:
    """A later migration that rebuilds `jobs` or `followers` on SQLite drops their triggers:
    this fails until it creates them again (the SQL is in migration 0013)."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict("SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal")
    else:
        rows = await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    assert {"history_count_delivery", "history_count_unfollow"} <= {r["name"] for r in rows}


# -- the overview --------------------------------------------------------------------------


async def test_the_history_of_a_blog_from_what_the_database_holds(database: Config) -> None:
    await _no_counts()
    now = datetime(2026, 3, 10, 0, 20, tzinfo=UTC)  # just after midnight: yesterday's last hour is 1 h ago
    expected = await seed_history(now)
    [blog] = await history(database, now=now)
    deliveries, followers, interactions = blog.figures
    assert blog.blog == "blog" and [f.key for f in blog.figures] == ["deliveries", "followers", "interactions"]
    assert deliveries.summary.startswith(f"{expected['delivered']} delivered, {expected['failed']} failed")
    assert "the busiest hour Mar 9, 23:00 UTC (40)" in deliveries.summary
    assert len(bars(str(deliveries.svg))) == 2 + 1  # two hours delivered, one with failures
    assert deliveries.rows[:2] == [("2026-03-10", "0", "0"), ("2026-03-09", "40", "3")]
    assert ("2026-03-08", "25", "0") in deliveries.rows and len(deliveries.rows) == 8  # 168 hours touch 8 days
    # Followers at the end of each day: f0 (40 days ago) always; f1 from Feb 28; f2 from Mar 8; the two who
    # left on Mar 5 at midnight had been there since Feb 18 (the window starts on Feb 9).
    counts = {day: int(n) for day, n in followers.rows}
    assert counts["2026-03-10"] == expected["followers"] == 3
    assert (counts["2026-02-09"], counts["2026-02-18"], counts["2026-02-28"]) == (1, 3, 4)
    assert (counts["2026-03-04"], counts["2026-03-05"], counts["2026-03-07"], counts["2026-03-08"]) == (4, 2, 2, 3)
    assert len(followers.rows) == DAYS
    assert interactions.summary.startswith(f"{expected['interactions']} in 30 days")
    per_day = {day: n for day, n in interactions.rows}
    assert per_day["2026-03-09"] == "3" and per_day["2026-03-07"] == "2"
    assert len(bars(str(interactions.svg))) == 2


async def test_the_overview_shows_the_charts_with_their_numbers_as_text(write_config: Any) -> None:
    client = await open_client(write_config, {"BRIDGE_ADMIN_TOKEN": TOKEN})
    try:
        await logged_in(client)
        await _no_counts()
        empty = await (await client.get("/admin")).text()
        assert empty.count(charts.NO_DATA) == 3  # a new install: nothing to draw yet, and it says so
        expected = await seed_history(utcnow())
        page = await (await client.get("/admin")).text()
    finally:
        await client.close()
    assert '<h2 id="history-title">History</h2>' in page
    for key in ("deliveries", "followers", "interactions"):
        svg = re.search(rf'<svg class="chart-svg" id="chart-0-{key}".*?</svg>', page, re.DOTALL)
        assert svg, key
        parsed(svg.group(0))
    assert f"{expected['delivered']} delivered, {expected['failed']} failed in the last 7 days" in page
    assert f"{expected['followers']} now, " in page and f"{expected['interactions']} in 30 days" in page
    assert page.count("<summary>As a table</summary>") == 3
    assert "<script" not in page


# -- in a real browser ---------------------------------------------------------------------



@pytest.fixture
async def site(write_config: Any, free_port: int) -> AsyncIterator[str]:
    config = load_config(write_config(base_url=f"http://127.0.0.1:{free_port}"), env={"BRIDGE_ADMIN_TOKEN": TOKEN})
    server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=free_port)
    await server.start_server()
    try:
        await _no_counts()
        now = utcnow()
        await seed_history(now)
        # A week that looks like one: deliveries most hours, a few failures, interactions most days.
        hour = hour_of(now)
        for h in range(2, HOURS, 3):  # not 1 nor 30: seed_history has those
            await HistoryCount.create(hour=hour - h * HOUR, blog="blog", what=HistoryWhat.DELIVERED,
                                      since=hour - h * HOUR, n=20 + (h * 37) % 90)
            if h % 17 == 0:
                await HistoryCount.create(hour=hour - h * HOUR, blog="blog", what=HistoryWhat.FAILED,
                                          since=hour - h * HOUR, n=1 + h % 4)
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@requires_chromium
async def test_the_charts_render_on_a_laptop_and_on_a_phone(site: str) -> None:
    async with chromium() as browser:
        laptop = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await laptop.new_page()
        await page.goto(f"{site}/admin/login")
        await page.fill("#token", TOKEN)
        await page.click("button[type=submit]")
        assert page.url == f"{site}/admin"
        await _charts_shown(page)
        ARTIFACTS.mkdir(exist_ok=True)
        history = page.locator("section.history")
        await history.screenshot(path=str(ARTIFACTS / "overview-charts.png"))
        await history.screenshot(path=str(readme_shot("dashboard-charts.png")))
        await page.screenshot(path=str(ARTIFACTS / "overview-with-charts.png"), full_page=True)

        phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                          is_mobile=True, has_touch=True)
        await phone.add_cookies([c for c in await laptop.cookies() if c["name"] == "bridge_admin"])  # type: ignore[misc]
        mobile = await phone.new_page()
        await mobile.goto(f"{site}/admin")
        await _charts_shown(mobile)
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the overview is {width} px wide on a phone"
        for box in await _boxes(mobile):
            assert box["right"] <= 390 and box["left"] >= 0, box
        # The labels stay legible: the axis text is drawn at least 9 CSS px tall.
        smallest = await mobile.evaluate(
            "Math.min(...[...document.querySelectorAll('.chart-svg text')].map(t => t.getBoundingClientRect().height))")
        assert smallest >= 9, smallest
        await mobile.locator("section.history").screenshot(path=str(ARTIFACTS / "phone-overview-charts.png"))
        await phone.close()

        # The dark style: the charts take its colours (a picture to look at, in test-artifacts/).
        dark = await browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
        await dark.add_cookies([c for c in await laptop.cookies() if c["name"] == "bridge_admin"])  # type: ignore[misc]
        night = await dark.new_page()
        await night.goto(f"{site}/admin")
        fill = await night.eval_on_selector("#chart-0-deliveries g.bars", "g => getComputedStyle(g).fill")
        assert fill != await page.eval_on_selector("#chart-0-deliveries g.bars", "g => getComputedStyle(g).fill")
        await night.locator("section.history").screenshot(path=str(ARTIFACTS / "dark-overview-charts.png"))
        await dark.close()
        await laptop.close()


async def _boxes(page: Any) -> list[dict[str, float]]:
    return list(await page.eval_on_selector_all(
        "svg.chart-svg", "els => els.map(e => { const r = e.getBoundingClientRect();"
                         " return {left: r.left, right: r.right, width: r.width, height: r.height}; })"))


async def _charts_shown(page: Any) -> None:
    for key in ("deliveries", "followers", "interactions"):
        assert await page.locator(f"#chart-0-{key}").is_visible(), key
    boxes = await _boxes(page)
    assert len(boxes) == 3 and all(b["width"] > 100 and b["height"] > 50 for b in boxes), boxes
    assert await page.locator("#chart-0-deliveries g.bars rect").count() > 50
    assert await page.locator("#chart-0-followers polyline").count() == 1
