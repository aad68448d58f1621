"""Working days of UK organisations, and the 24-hour response deadline.

A working day is Monday to Friday, less the bank holidays of the organisation's
nation (England, Wales, Scotland, Northern Ireland) from the ``holidays``
package. All times are handled as aware datetimes; local dates and closing
times are read in Europe/London, so deadlines stay right across the clock
changes.
"""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
NATIONS = ("ENG", "WLS", "SCT", "NIR")


def _check_nation(nation: str) -> None:
    if nation not in NATIONS:
        raise ValueError(f"Unknown nation {nation!r}; expected one of {', '.join(NATIONS)}.")


@lru_cache(maxsize=64)
def _bank_holidays(nation: str, year: int) -> frozenset[dt.date]:
    _check_nation(nation)
    return frozenset(holidays.UK(subdiv=nation, years=year).keys())


def is_bank_holiday(day: dt.date, nation: str) -> bool:
    return day in _bank_holidays(nation, day.year)


def is_working_day(day: dt.date, nation: str) -> bool:
    # Checked first, so an unknown nation fails on a weekend too, not only on a weekday.
    _check_nation(nation)
    return day.weekday() < 5 and not is_bank_holiday(day, nation)


def next_working_day(day: dt.date, nation: str) -> dt.date:
    """The first working day strictly after ``day``."""
    day += dt.timedelta(days=1)
    while not is_working_day(day, nation):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, count: int, nation: str) -> dt.date:
    """The date ``count`` working days after ``day`` (``count`` >= 0)."""
    if count < 0:
        raise ValueError("count must not be negative")
    _check_nation(nation)
    for _ in range(count):
        day = next_working_day(day, nation)
    return day


def closing_time_on(day: dt.date, organisation) -> dt.datetime:
    """The organisation's closing time on ``day``, as an aware datetime."""
    return dt.datetime.combine(day, organisation.closing_time, tzinfo=LONDON)


def end_of_working_days(start: dt.datetime, count: int, organisation) -> dt.datetime:
    """Closing time ``count`` working days after the local date of ``start``.

    Used for "within one working day" duties (a LADO referral, for example).
    """
    local_day = start.astimezone(LONDON).date()
    return closing_time_on(add_working_days(local_day, count, organisation.nation), organisation)


def response_due(received_at: dt.datetime, organisation) -> dt.datetime:
    """When a comment, query or complaint received at ``received_at`` must be answered.

    DESIGN.md "Response log" (seed 001 §5): received on a working day, 24 elapsed
    hours later; received on any other day, the organisation's closing time on
    the next working day.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    local_day = received_at.astimezone(LONDON).date()
    if is_working_day(local_day, organisation.nation):
        # Elapsed hours: add in UTC, so a clock change does not move the deadline.
        return (received_at.astimezone(dt.UTC) + dt.timedelta(hours=24)).astimezone(LONDON)
    return closing_time_on(next_working_day(local_day, organisation.nation), organisation)
