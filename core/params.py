"""Numbers that views read by hand from a query string or a form (``?version=``, a quiz answer).

``str.isdigit()`` (and ``isdecimal()``) accept digits of every script, "²" and "٣" among them,
which ``int()`` then refuses or reads as another number; so a value is a number here only
when it is written with the ASCII digits 0-9. Anything else is a request the portal's own
pages never send, answered 400 with the message (core.middleware.BadInputMiddleware).
"""

import re

from django.core.exceptions import BadRequest

# At most 18 digits: always within a bigint column, so a lookup by id never overflows.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class BadParameter(BadRequest):
    """A parameter no page of the portal sends; its message is shown with the 400."""


def int_param(data, name: str, *, message: str = "") -> int | None:
    """``data[name]`` (``request.GET`` or ``request.POST``) as a whole number; None when absent or empty."""
    value = data.get(name, "")
    if value == "":
        return None
    if not _WHOLE_NUMBER.fullmatch(value):
        raise BadParameter(message or f"“{name}” must be a whole number written with the digits 0 to 9.")
    return int(value)
