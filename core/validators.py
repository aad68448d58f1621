"""The range a date must fall in, whichever way it arrives.

A mistyped year (0026 for 2026, 20266) parses as a date, and once stored it breaks what is
worked out from it: reminders, review and response deadlines, retention, reports. Each date
field that people give carries a ``DateRange`` on its model, so model forms and the admin
refuse it with a message that names the field and says what to do; paths without a model form
(imports, the signed intake, services) run the same validators through ``check_fields``.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible

# Nothing the portal records happened before this: an incident, a post, a training course,
# a policy's approval. Employment dates reach further back (MembershipForm).
EARLIEST = dt.date(2000, 1, 1)
# A time typed a few minutes ahead of the server's clock is still "now".
CLOCK_SLACK = dt.timedelta(minutes=5)


def _years_ahead(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@deconstructible
class DateRange:
    """A field validator for a date or date and time between ``earliest`` and a latest:
    now (``past=True``: something that has happened) or ``years_ahead`` years from today.

    ``what`` names the field in the message: "The date and time it happened".
    """

    def __init__(self, what: str, *, earliest: dt.date = EARLIEST, past: bool = False, years_ahead: int = 0):
        if past == bool(years_ahead):
            raise ValueError("DateRange needs past=True or years_ahead, not both.")
        self.what = what
        self.earliest = earliest
        self.past = past
        self.years_ahead = years_ahead

    def __eq__(self, other):
        return isinstance(other, DateRange) and vars(self) == vars(other)

    def __call__(self, value) -> None:
        if value is None:
            return
        # A form's date and time is aware, in the current time zone: its own date is the local one
        # (converting a year-1 time to another zone could leave the calendar).
        day = value.date() if isinstance(value, dt.datetime) else value
        if day < self.earliest:
            raise ValidationError(
                f"{self.what} cannot be before {self.earliest.day} {self.earliest:%B %Y}: check the year.",
                code="too_early",
            )
        if self.past:
            late = (
                value > timezone.now() + CLOCK_SLACK if isinstance(value, dt.datetime) else day > timezone.localdate()
            )
            if late:
                raise ValidationError(f"{self.what} cannot be in the future: check the date.", code="future")
        elif day > _years_ahead(timezone.localdate(), self.years_ahead):
            raise ValidationError(
                f"{self.what} must be within {self.years_ahead} year{'s' if self.years_ahead > 1 else ''} "
                "from today: check the year.",
                code="too_late",
            )


def field_validators(model, name: str) -> list:
    """The validators of a model's field, for a plain form's field that fills it."""
    return list(model._meta.get_field(name).validators)


def check_value(model, name: str, value, *, raising: type[Exception] = ValidationError) -> None:
    """Runs the validators of a model's field on a value a service is about to store in it, as
    a model form would (an empty value passes). Raises ``raising`` (a service's own error) with
    the messages."""
    field = model._meta.get_field(name)
    if value in field.empty_values:
        return
    try:
        field.run_validators(value)
    except ValidationError as error:
        if raising is ValidationError:
            raise
        raise raising(" ".join(error.messages)) from None


def check_fields(instance, *names: str, raising: type[Exception] = ValidationError) -> None:
    """``check_value`` for the named fields of an instance, every message at once."""
    messages = []
    for name in names:
        try:
            check_value(type(instance), name, getattr(instance, instance._meta.get_field(name).attname))
        except ValidationError as error:
            messages.extend(error.messages)
    if messages:
        raise ValidationError(messages) if raising is ValidationError else raising(" ".join(messages))
