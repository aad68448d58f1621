"""core.workingdays: UK working days per nation and the 24-hour response deadline.

Every expected date below was checked against the ``holidays`` package
(``holidays.UK(subdiv=..., years=2026)``) before being written down. 2026 in brief:
Good Friday 3 Apr everywhere; Easter Monday 6 Apr except Scotland; Scotland's
New Year Holiday Fri 2 Jan and Summer Bank Holiday Mon 3 Aug; England, Wales and
Northern Ireland's Late Summer Bank Holiday Mon 31 Aug; St Patrick's Day Tue
17 Mar in Northern Ireland; Christmas Fri 25 Dec, Boxing Day Sat 26 Dec, observed
Mon 28 Dec; New Year's Day 2027 Fri 1 Jan, and in Scotland Mon 4 Jan 2027 too.
Clocks go forward Sun 29 Mar 2026 and back Sun 25 Oct 2026.
"""

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from core.workingdays import (
    add_working_days,
    end_of_working_days,
    is_working_day,
    next_working_day,
    response_due,
)

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def org(nation="ENG", closing_time=dt.time(17, 0)):
    return SimpleNamespace(nation=nation, closing_time=closing_time)


def london(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year, month, day, hour=0, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def same_instant(a, b):
    """Compare as instants: two datetimes sharing a tzinfo compare by wall clock only."""
    return a.astimezone(UTC) == b.astimezone(UTC)


# response_due: received on a working day -----------------------------------------------


def test_it_gives_24_elapsed_hours_for_an_item_received_on_a_working_day():
    due = response_due(london(2026, 6, 3, 10, 15), org())  # Wednesday
    assert same_instant(due, london(2026, 6, 4, 10, 15))


def test_it_gives_24_elapsed_hours_even_when_that_lands_on_a_saturday():
    due = response_due(london(2026, 6, 5, 16, 45), org())  # Friday
    assert same_instant(due, london(2026, 6, 6, 16, 45))
    assert due.astimezone(LONDON).date().strftime("%A") == "Saturday"


def test_it_gives_24_elapsed_hours_for_a_friday_evening_before_a_bank_holiday_monday():
    # Friday 28 Aug 2026 is a working day; Monday 31 Aug is a holiday in England.
    due = response_due(london(2026, 8, 28, 19, 0), org("ENG"))
    assert same_instant(due, london(2026, 8, 29, 19, 0))


def test_it_gives_24_elapsed_hours_when_the_next_day_is_christmas_day():
    due = response_due(london(2026, 12, 24, 10, 0), org())  # Thursday before Christmas
    assert same_instant(due, london(2026, 12, 25, 10, 0))


def test_it_gives_24_elapsed_hours_on_the_friday_before_the_spring_clock_change():
    received = london(2026, 3, 27, 12, 0)  # Friday, GMT
    due = response_due(received, org())
    assert due - received == dt.timedelta(hours=24)
    assert same_instant(due, utc(2026, 3, 28, 12, 0))


def test_it_returns_the_deadline_in_london_time_whatever_the_zone_received_in():
    due = response_due(utc(2026, 6, 3, 9, 15), org())  # 10:15 BST on a Wednesday
    assert due.tzinfo == LONDON
    assert due.replace(tzinfo=None) == dt.datetime(2026, 6, 4, 10, 15)


def test_it_reads_the_day_received_in_london_not_utc():
    # 00:30 BST on Monday 1 Jun is still Sunday 31 May in UTC: a working day in London.
    received = utc(2026, 5, 31, 23, 30)
    assert same_instant(response_due(received, org()), received + dt.timedelta(hours=24))
    # 00:30 BST on Saturday 6 Jun is still Friday in UTC: not a working day in London.
    assert same_instant(response_due(utc(2026, 6, 5, 23, 30), org()), london(2026, 6, 8, 17, 0))


# response_due: received on a weekend ------------------------------------------------


@pytest.mark.parametrize("received", [london(2026, 6, 6, 9, 0), london(2026, 6, 7, 23, 59)], ids=["saturday", "sunday"])
def test_it_gives_closing_time_on_the_next_working_day_for_an_item_received_at_the_weekend(received):
    due = response_due(received, org())
    assert same_instant(due, london(2026, 6, 8, 17, 0))  # Monday 17:00 BST
    assert same_instant(due, utc(2026, 6, 8, 16, 0))


def test_it_uses_the_organisations_own_closing_time():
    due = response_due(london(2026, 6, 7, 11, 0), org(closing_time=dt.time(16, 30)))  # Sunday
    assert same_instant(due, london(2026, 6, 8, 16, 30))
    assert same_instant(due, utc(2026, 6, 8, 15, 30))


def test_it_gives_closing_time_on_tuesday_for_a_saturday_before_a_bank_holiday_monday():
    saturday = london(2026, 8, 29, 10, 0)
    assert same_instant(response_due(saturday, org("ENG")), london(2026, 9, 1, 17, 0))
    assert same_instant(response_due(saturday, org("SCT")), london(2026, 8, 31, 17, 0))


# response_due: received on a bank holiday, nation by nation ----------------------------


@pytest.mark.parametrize("nation", ["ENG", "WLS", "NIR"])
def test_it_treats_the_late_august_bank_holiday_as_a_holiday_outside_scotland(nation):
    due = response_due(london(2026, 8, 31, 9, 0), org(nation))
    assert same_instant(due, london(2026, 9, 1, 17, 0))


def test_it_treats_the_late_august_bank_holiday_as_a_working_day_in_scotland():
    due = response_due(london(2026, 8, 31, 9, 0), org("SCT"))
    assert same_instant(due, london(2026, 9, 1, 9, 0))


def test_it_treats_scotlands_early_august_bank_holiday_as_a_holiday_in_scotland_only():
    received = london(2026, 8, 3, 9, 0)  # Monday 3 Aug 2026
    assert same_instant(response_due(received, org("SCT")), london(2026, 8, 4, 17, 0))
    for nation in ("ENG", "WLS", "NIR"):
        assert same_instant(response_due(received, org(nation)), london(2026, 8, 4, 9, 0))


def test_it_treats_the_second_of_january_as_a_holiday_in_scotland_only():
    received = london(2026, 1, 2, 11, 0)  # Friday 2 Jan 2026
    assert same_instant(response_due(received, org("SCT")), london(2026, 1, 5, 17, 0))
    assert same_instant(response_due(received, org("ENG")), london(2026, 1, 3, 11, 0))


def test_it_treats_st_patricks_day_as_a_holiday_in_northern_ireland_only():
    received = london(2026, 3, 17, 10, 0)  # Tuesday 17 Mar 2026
    assert same_instant(response_due(received, org("NIR")), london(2026, 3, 18, 17, 0))
    for nation in ("ENG", "WLS", "SCT"):
        assert same_instant(response_due(received, org(nation)), london(2026, 3, 18, 10, 0))


def test_it_treats_easter_monday_as_a_holiday_everywhere_but_scotland():
    good_friday = london(2026, 4, 3, 10, 0)
    for nation in ("ENG", "WLS", "NIR"):
        assert same_instant(response_due(good_friday, org(nation)), london(2026, 4, 7, 17, 0))
    assert same_instant(response_due(good_friday, org("SCT")), london(2026, 4, 6, 17, 0))


@pytest.mark.parametrize("nation", ["ENG", "WLS", "SCT", "NIR"])
@pytest.mark.parametrize("day", [25, 26, 27, 28], ids=["christmas", "boxing-day", "sunday", "boxing-day-observed"])
def test_it_skips_the_whole_christmas_run(nation, day):
    due = response_due(london(2026, 12, day, 12, 0), org(nation))
    assert same_instant(due, london(2026, 12, 29, 17, 0))  # Tuesday 29 Dec, GMT
    assert same_instant(due, utc(2026, 12, 29, 17, 0))


def test_it_skips_scotlands_longer_new_year_run():
    new_years_day = london(2027, 1, 1, 12, 0)  # Friday
    assert same_instant(response_due(new_years_day, org("ENG")), london(2027, 1, 4, 17, 0))
    assert same_instant(response_due(new_years_day, org("SCT")), london(2027, 1, 5, 17, 0))


# response_due: clock changes --------------------------------------------------------


def test_it_gives_closing_time_in_summer_time_after_the_spring_clock_change():
    due = response_due(london(2026, 3, 28, 12, 0), org())  # Saturday, GMT
    assert same_instant(due, utc(2026, 3, 30, 16, 0))  # Monday 17:00 BST
    assert due.astimezone(LONDON).hour == 17
    assert due.utcoffset() == dt.timedelta(hours=1)


def test_it_gives_closing_time_in_gmt_after_the_autumn_clock_change():
    due = response_due(london(2026, 10, 24, 12, 0), org())  # Saturday, BST
    assert same_instant(due, utc(2026, 10, 26, 17, 0))  # Monday 17:00 GMT
    assert due.astimezone(LONDON).hour == 17
    assert due.utcoffset() == dt.timedelta(0)


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        response_due(dt.datetime(2026, 6, 3, 10, 0), org())


# The helpers -------------------------------------------------------------------------


def test_it_counts_weekdays_less_the_nations_bank_holidays_as_working_days():
    assert is_working_day(dt.date(2026, 6, 3), "ENG")  # Wednesday
    assert not is_working_day(dt.date(2026, 6, 6), "ENG")  # Saturday
    assert not is_working_day(dt.date(2026, 6, 7), "ENG")  # Sunday
    assert not is_working_day(dt.date(2026, 8, 31), "ENG")
    assert is_working_day(dt.date(2026, 8, 31), "SCT")
    assert not is_working_day(dt.date(2026, 8, 3), "SCT")
    assert is_working_day(dt.date(2026, 8, 3), "WLS")


def test_it_gives_the_same_bank_holidays_to_england_and_wales():
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert is_working_day(day, "ENG") == is_working_day(day, "WLS"), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("day", [dt.date(2026, 6, 3), dt.date(2026, 6, 6)], ids=["weekday", "weekend"])
@pytest.mark.parametrize("nation", ["XYZ", "eng", "", "England"])
def test_it_refuses_an_unknown_nation(day, nation):
    with pytest.raises(ValueError, match="Unknown nation"):
        is_working_day(day, nation)
    with pytest.raises(ValueError, match="Unknown nation"):
        add_working_days(day, 0, nation)
    with pytest.raises(ValueError, match="Unknown nation"):
        response_due(london(day.year, day.month, day.day, 12, 0), org(nation))


def test_it_finds_the_next_working_day_strictly_after_the_day_given():
    assert next_working_day(dt.date(2026, 6, 3), "ENG") == dt.date(2026, 6, 4)
    assert next_working_day(dt.date(2026, 6, 5), "ENG") == dt.date(2026, 6, 8)  # Friday to Monday
    assert next_working_day(dt.date(2026, 8, 28), "ENG") == dt.date(2026, 9, 1)
    assert next_working_day(dt.date(2026, 8, 28), "SCT") == dt.date(2026, 8, 31)


def test_it_adds_working_days_across_holidays_and_the_new_year():
    assert add_working_days(dt.date(2026, 6, 3), 0, "ENG") == dt.date(2026, 6, 3)
    assert add_working_days(dt.date(2026, 6, 3), 3, "ENG") == dt.date(2026, 6, 8)
    assert add_working_days(dt.date(2026, 12, 24), 1, "ENG") == dt.date(2026, 12, 29)
    assert add_working_days(dt.date(2026, 12, 31), 1, "ENG") == dt.date(2027, 1, 4)
    assert add_working_days(dt.date(2026, 12, 31), 1, "SCT") == dt.date(2027, 1, 5)
    assert add_working_days(dt.date(2026, 4, 2), 2, "ENG") == dt.date(2026, 4, 8)
    assert add_working_days(dt.date(2026, 4, 2), 2, "SCT") == dt.date(2026, 4, 7)


def test_it_refuses_a_negative_number_of_working_days():
    with pytest.raises(ValueError, match="negative"):
        add_working_days(dt.date(2026, 6, 3), -1, "ENG")


def test_it_ends_one_working_day_at_the_next_working_days_closing_time():
    friday_evening = london(2026, 8, 28, 18, 0)
    assert same_instant(end_of_working_days(friday_evening, 1, org("ENG")), london(2026, 9, 1, 17, 0))
    assert same_instant(end_of_working_days(friday_evening, 1, org("SCT")), london(2026, 8, 31, 17, 0))
    custom = org(closing_time=dt.time(16, 30))
    assert same_instant(end_of_working_days(london(2026, 6, 3, 9, 0), 0, custom), london(2026, 6, 3, 16, 30))


def test_it_counts_working_days_from_the_london_date_of_the_start():
    # 23:30 UTC on Sunday 31 May is 00:30 BST on Monday 1 Jun: one working day on is Tuesday.
    due = end_of_working_days(utc(2026, 5, 31, 23, 30), 1, org())
    assert same_instant(due, london(2026, 6, 2, 17, 0))


def test_it_ends_working_days_at_closing_time_across_the_autumn_clock_change():
    due = end_of_working_days(london(2026, 10, 23, 12, 0), 1, org())  # Friday, BST
    assert same_instant(due, utc(2026, 10, 26, 17, 0))  # Monday 17:00 GMT
