"""parse_datetime (strict: an instant or nothing) and parse_date_or_datetime (a post's date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bridge.blog.post import parse_date_or_datetime, parse_datetime


def tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


INSTANTS = [
    ("2024-05-01T08:30:00+02:00", datetime(2024, 5, 1, 8, 30, tzinfo=tz(2))),
    ("2024-05-01T08:30:00-0400", datetime(2024, 5, 1, 8, 30, tzinfo=tz(-4))),  # mf2py's offsets
    ("2024-05-01T08:30:00Z", datetime(2024, 5, 1, 8, 30, tzinfo=UTC)),
    # Go's default format, as Hugo prints {{ .Date }}: the numeric offset counts, the
    # abbreviation after it does not (MST here is simply -0700 again).
    ("2019-03-05 00:00:00 +0000 UTC", datetime(2019, 3, 5, tzinfo=UTC)),
    ("2019-03-05 10:30:00 -0700 MST", datetime(2019, 3, 5, 10, 30, tzinfo=tz(-7))),
    ("2019-03-05 10:30:00 +0300 +03", datetime(2019, 3, 5, 10, 30, tzinfo=tz(3))),
    ("2019-03-05 10:30:00 +0100", datetime(2019, 3, 5, 10, 30, tzinfo=tz(1))),
    (" 2019-03-05 10:30:00.123456789 +0000 UTC ", datetime(2019, 3, 5, 10, 30, 0, 123456, tzinfo=UTC)),
]
NOTHING = [None, 20210402, "", "   ", "yesterday", "2021-13-01", "2021-02-30T10:00:00Z",
           "2021-04-02T10:00", "2019-03-05 10:30:00 MST", "2019-03-05 10:30:00 -0700 Mountain Time",
           "20210402", "2021-W13-5", "2021-04", "2021-04-02 garbage"]


@pytest.mark.parametrize(("text", "expected"), INSTANTS)
def test_full_date_times_in_both(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected
    assert parse_datetime(text).utcoffset() == expected.utcoffset()  # the offset is kept
    assert parse_date_or_datetime(text) == expected


@pytest.mark.parametrize("value", NOTHING)
def test_no_instant_in_both(value: object) -> None:
    assert parse_datetime(value) is None
    assert parse_date_or_datetime(value) is None


def test_a_date_alone_is_midnight_utc_only_where_a_date_is_enough() -> None:
    assert parse_datetime("2021-04-02") is None  # no instant: not guessed
    day = parse_date_or_datetime(" 2021-04-02 ")
    assert day == datetime(2021, 4, 2, tzinfo=UTC) and day.tzinfo == UTC
    assert parse_date_or_datetime("2024-02-29") == datetime(2024, 2, 29, tzinfo=UTC)
    assert parse_date_or_datetime("2023-02-29") is None
