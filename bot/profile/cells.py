"""One cell's value: shown as text, or recognised as a number or a date when written as text.

display(value) -> str                  "2024-03-01", "1.5", "true", compact JSON…
parse_number(text) -> ParsedNumber     "$1,234", "1.234,5", "(12)", "12.4%", "1e6"
parse_date(text) -> (date?, time?)     "2024-03-01", "03/01/2024", "1 Mar 2024", ISO times
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from bot import wording

_NUMBER = re.compile(
    r"(?P<open>\()?(?P<sign>[-+\u2212])?(?P<cur>[$€£¥])?\s?(?P<sign2>[-+\u2212])?"
    r"(?P<digits>\d(?:[\d.,' \u00a0]*\d)?|[.,]\d+)(?P<exp>[eE][-+]?\d+)?"
    r"\s?(?P<suffix>[$€£¥%])?(?P<close>\))?",
    re.ASCII,
)
_GROUPS = {".": re.compile("[,' \u00a0]"), ",": re.compile("[.' \u00a0]")}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_TEXT = re.compile(
    r"(?:(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"|(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<ay>\d{4}|\d{2})"
    r"|(?P<nd>\d{1,2})[ -](?P<nm>[A-Za-z]{3,9})\.?[-, ]+(?P<ny>\d{4})"
    r"|(?P<mm>[A-Za-z]{3,9})\.? (?P<md>\d{1,2}),? (?P<my>\d{4}))"
    r"(?P<time>[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?: ?[AaPp][Mm])?(?: ?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?)?",
    re.ASCII,
)


def display(value: object) -> str:
    """A cell as shown to people: text as is, numbers plainly, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if has_time(value) else value.date().isoformat()
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bytes):
        return wording.CELL_BYTES.format(count=len(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def has_time(value: datetime) -> bool:
    """Not a plain date (spreadsheets store dates as datetimes at midnight)."""
    return value.tzinfo is not None or value.time() != datetime.min.time()


@dataclass(frozen=True)
class ParsedNumber:
    """A number written as text, read with "." and with "," as the decimal mark."""

    dot: tuple[float, bool] | None
    """(value, written with a fraction) when "." is the decimal mark; None if invalid."""
    comma: tuple[float, bool] | None
    money: bool
    percent: bool


def parse_number(text: str) -> ParsedNumber | None:
    """ "12", "1,234.5", "1.234,5", "$572,754", "-$4,539", "(1,234)", "12.4%", "1e6"; or None."""
    if text.isdigit() and text.isascii():  # the common case, without the regex
        plain = (float(text), False)
        return ParsedNumber(dot=plain, comma=plain, money=False, percent=False)
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    signs = [s for s in (parts["sign"], parts["sign2"], parts["open"]) if s]
    if len(signs) > 1 or bool(parts["open"]) != bool(parts["close"]):
        return None
    negative = bool(signs) and signs[0] != "+"
    digits, exponent = parts["digits"], parts["exp"] or ""
    dot, comma = _decimal(digits, ".", exponent), _decimal(digits, ",", exponent)
    if dot is None and comma is None:
        return None
    money = bool(parts["cur"]) or parts["suffix"] not in (None, "%")
    return ParsedNumber(
        dot=_negated(dot) if negative else dot,
        comma=_negated(comma) if negative else comma,
        money=money,
        percent=parts["suffix"] == "%",
    )


def _decimal(digits: str, mark: str, exponent: str) -> tuple[float, bool] | None:
    whole, _, fraction = digits.partition(mark)
    groups = _GROUPS[mark].split(whole)
    if len(groups) > 1 and (len(groups[0]) not in (1, 2, 3) or {len(g) for g in groups[1:]} != {3}):
        return None
    whole = "".join(groups)
    if not (whole or fraction) or not f"{whole}{fraction}".isdigit():
        return None
    if exponent and len(groups) > 1:
        return None
    return float(f"{whole or 0}.{fraction or 0}{exponent}"), bool(fraction or exponent)


def _negated(parsed: tuple[float, bool] | None) -> tuple[float, bool] | None:
    return None if parsed is None else (-parsed[0], parsed[1])


def parse_date(text: str) -> tuple[bool, bool]:
    """(is a date, has a time of day) for "2024-03-01", "03/01/2024", "1 Mar 2024", ISO times."""
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        return False, False
    p = match.groupdict()
    if p["y"]:
        valid = _valid_date(int(p["y"]), int(p["m"]), int(p["d"]))
    elif p["a"]:
        year, first, second = int(p["ay"]), int(p["a"]), int(p["b"])
        valid = _valid_date(year, first, second) or _valid_date(year, second, first)
    else:
        month = (p["nm"] or p["mm"])[:3].lower()
        day, year = int(p["nd"] or p["md"]), int(p["ny"] or p["my"])
        valid = month in _MONTHS and _valid_date(year, _MONTHS.index(month) + 1, day)
    return valid, valid and bool(p["time"])


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year if year > 99 else 2000 + year, month, day)
    except ValueError:
        return False
    return True
