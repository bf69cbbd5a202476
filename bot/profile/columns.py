"""A column's kind and statistics, inferred from its cells as they stream past.

A `ColumnScan` starts open to every kind (boolean, number, date) and rules kinds out cell by
cell; numbers written as text are read both with "." and with "," as the decimal mark until
one reading fails. `ColumnScan.profile` gives the finished `ColumnProfile`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bot.profile.cells import ParsedNumber, display, has_time, parse_date, parse_number

DISTINCT_CAP = 10_000
_EXAMPLE_CHARS = 100
_MISSING = frozenset({"", "-", "na", "n/a", "null", "none", "nan", "—", "#n/a"})
_BOOLEANS = frozenset({"true", "false", "yes", "no", "y", "n"})
_BOOL, _NUM, _DATE = 1, 2, 4


@dataclass(frozen=True)
class ColumnProfile:
    """One column: its inferred kind and a few statistics."""

    name: str
    """Header cleaned: whitespace stripped; empty becomes "column_<position>"; made unique."""
    kind: str
    """integer, number, money, percent, date, datetime, boolean, text, or empty."""
    missing: int
    """Empty cells and "-", "NA", "N/A", "null", "None", "NaN", "—", "#N/A" (any case)."""
    distinct: int
    """Distinct non-missing values, counted up to DISTINCT_CAP."""
    distinct_capped: bool
    example: str
    """The first non-missing value, shortened to 100 characters ("" when there is none)."""
    minimum: float | None
    """For integer, number, money and percent columns, from parsed values ("$1,234" → 1234)."""
    maximum: float | None
    mean: float | None


class _Stats:
    """Running statistics of a column's numbers under one reading of the decimal mark."""

    __slots__ = ("count", "fraction", "high", "low", "ok", "total")

    def __init__(self) -> None:
        self.ok, self.fraction = True, False
        self.count, self.total, self.low, self.high = 0, 0.0, math.inf, -math.inf

    def add(self, parsed: tuple[float, bool] | None) -> None:
        if parsed is None or not self.ok:
            self.ok = False
            return
        value, fraction = parsed
        self.count += 1
        self.total += value
        self.low, self.high = min(self.low, value), max(self.high, value)
        self.fraction |= fraction


class ColumnScan:
    """What one column's cells have shown so far; `possible` holds the kinds not ruled out."""

    def __init__(self, prefer_comma: bool, missing: int = 0) -> None:
        self.prefer_comma, self.missing, self.values = prefer_comma, missing, 0
        self.possible = _BOOL | _NUM | _DATE
        self.dot, self.comma = _Stats(), _Stats()
        self.money = self.percent = self.has_time = False
        self.seen: set[int] = set()
        self.capped = False
        self.example = ""

    def add(self, cell: object) -> None:
        if isinstance(cell, str):
            text = cell.strip()
            if len(text) <= 4 and text.lower() in _MISSING:
                self.missing += 1
            else:
                self._count(text)
                self._read_text(text)
        elif cell is None or (isinstance(cell, float) and math.isnan(cell)):
            self.missing += 1
        else:
            self._count(display(cell))
            self._read_typed(cell)

    def _count(self, text: str) -> None:
        if not self.values:
            self.example = text if len(text) <= _EXAMPLE_CHARS else text[:_EXAMPLE_CHARS] + "…"
        self.values += 1
        key = hash(text)
        if not self.capped and key not in self.seen:
            self.capped = len(self.seen) >= DISTINCT_CAP
            if not self.capped:
                self.seen.add(key)

    def _read_text(self, text: str) -> None:
        if self.possible & _BOOL and text.lower() not in _BOOLEANS:
            self.possible &= ~_BOOL
        if self.possible & _NUM:
            self._read_number(parse_number(text))
        if self.possible & _DATE:
            is_date, time_of_day = parse_date(text)
            self.has_time |= time_of_day
            if not is_date:
                self.possible &= ~_DATE

    def _read_number(self, number: ParsedNumber | None) -> None:
        if number is None:
            self.possible &= ~_NUM
            return
        self.dot.add(number.dot)
        self.comma.add(number.comma)
        self.money |= number.money
        self.percent |= number.percent
        if not (self.dot.ok or self.comma.ok):
            self.possible &= ~_NUM

    def _read_typed(self, value: object) -> None:
        if isinstance(value, bool):
            self.possible &= _BOOL
        elif isinstance(value, int | float | Decimal):
            self.possible &= _NUM
            written = isinstance(value, float) or (
                isinstance(value, Decimal) and value != value.to_integral_value()
            )
            self._read_number(
                ParsedNumber((float(value), written), (float(value), written), False, False)
            )
        elif isinstance(value, date):
            self.possible &= _DATE
            self.has_time |= isinstance(value, datetime) and has_time(value)
        else:
            self.possible = 0

    def profile(self, name: str) -> ColumnProfile:
        kind, stats = self._kind()
        numeric = stats is not None and stats.count > 0
        return ColumnProfile(
            name=name,
            kind=kind,
            missing=self.missing,
            distinct=len(self.seen),
            distinct_capped=self.capped,
            example=self.example,
            minimum=stats.low if stats and numeric else None,
            maximum=stats.high if stats and numeric else None,
            mean=stats.total / stats.count if stats and numeric else None,
        )

    def _kind(self) -> tuple[str, _Stats | None]:
        if not self.values:
            return "empty", None
        if self.possible & _BOOL:
            return "boolean", None
        if self.possible & _NUM and not (self.money and self.percent):
            use_comma = self.comma.ok and (self.prefer_comma or not self.dot.ok)
            stats = self.comma if use_comma else self.dot
            if self.money or self.percent:
                return ("money" if self.money else "percent"), stats
            return ("number" if stats.fraction else "integer"), stats
        if self.possible & _DATE:
            return ("datetime" if self.has_time else "date"), None
        return "text", None
