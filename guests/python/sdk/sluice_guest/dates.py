"""Delays and dates: ``Retry-After`` and HTTP dates.

Connectors take the current time from the invocation context
(``context.now_ms``), never from their own clock, so that tests control it.
"""

from typing import Optional

U32_MAX = 2**32 - 1
"""The largest delay an outcome carries (``after-seconds`` is a ``u32``)."""

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def retry_after_seconds(value: str, now_ms: int) -> Optional[int]:
    """The delay a ``Retry-After`` header asks for, in seconds from ``now_ms``
    (unix milliseconds, the invocation context's ``now_ms``).

    Accepts both forms of RFC 9110: a number of seconds (``120``) and an HTTP
    date (``Wed, 21 Oct 2026 07:28:00 GMT``); a date in the past means no
    delay, and delays beyond :data:`U32_MAX` are cut to it. Returns ``None``
    when the value is neither.
    """
    value = value.strip()
    if value and value.isascii() and value.isdigit():
        return min(int(value), U32_MAX)
    at = parse_http_date(value)
    if at is None:
        return None
    return min(max(at - now_ms // 1000, 0), U32_MAX)


def parse_http_date(text: str) -> Optional[int]:
    """Parses an HTTP date in the preferred IMF-fixdate form,
    ``Sun, 06 Nov 1994 08:49:37 GMT``, into unix seconds; ``None`` for
    anything else (the obsolete RFC 850 and asctime forms included)."""
    weekday, separator, rest = text.partition(", ")
    if not separator or weekday not in _WEEKDAYS:
        return None
    parts = rest.split(" ")
    if len(parts) != 5 or parts[1] not in _MONTHS or parts[4] != "GMT":
        return None
    clock = parts[3].split(":")
    if len(clock) != 3:
        return None
    day, year = _digits(parts[0], 2), _digits(parts[2], 4)
    hour, minute, second = (_digits(part, 2) for part in clock)
    if None in (day, year, hour, minute, second):
        return None
    month = _MONTHS.index(parts[1]) + 1
    if not 1 <= day <= _days_in_month(year, month) or hour > 23 or minute > 59 or second > 60:
        return None
    return _days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second


def _digits(text: str, width: int) -> Optional[int]:
    """Exactly ``width`` ASCII digits as a number."""
    if len(text) == width and text.isascii() and text.isdigit():
        return int(text)
    return None


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    ``days_from_civil``)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
