"""Suggested questions for a profiled data file, built from its column names and kinds.

Deterministic and local (no AI): a measure and a category give "Top 10 by revenues as a bar
chart", a date and a measure a trend, two measures a relation. At most 75 characters each,
so they fit Slack button labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.profile.columns import ColumnProfile
from bot.profile.profiler import DataProfile

MAX_QUESTION_CHARS = 75
FALLBACK_QUESTIONS = (
    "Summarise this data and its quality",
    "Which columns have the most missing values?",
    "What stands out in this data?",
)
_NUMERIC = {"money": 2, "number": 1, "integer": 1, "percent": 0}  # preference as a measure


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MEASURE_WORDS = _words(
    "revenue sale profit amount price total count rating score cost value income spend budget"
    " salary quantity qty asset employee margin balance volume duration weight unit order fee"
    " tax earning"
)
_RATIO_WORDS = _words("percent pct change ratio growth")
_CATEGORY_WORDS = _words(
    "name country category sector region department class division type segment state city"
    " product brand company industry channel team gender status group store vendor customer kind"
)
_LABEL_WORDS = _words("name title company product customer country city brand")
_ID_WORDS = _words("id index idx rank rownames key code zip postcode phone uuid number no")
_LONG_TEXT_WORDS = _words("review comment feedback description text note message body summary")


def suggest_questions(profile: DataProfile, count: int = 3) -> list[str]:
    """`count` distinct questions of at most 75 characters, built from the column names."""
    roles = _Roles.of(profile)
    questions: list[str] = []
    for question in (*roles.questions(), *FALLBACK_QUESTIONS):
        if len(question) <= MAX_QUESTION_CHARS and question not in questions:
            questions.append(question)
    return questions[:count]


@dataclass(frozen=True)
class _Roles:
    """Column names by the part they can play in a question, best first."""

    measures: list[str]
    groups: list[str]
    labels: list[str]
    dates: list[str]
    texts: list[str]

    @classmethod
    def of(cls, profile: DataProfile) -> _Roles:
        usable = [c for c in profile.columns if not _is_identifier(c.name)]
        filled = [c for c in usable if profile.rows - c.missing > 0]
        return cls(
            measures=_ranked([c for c in filled if _is_measure(c)], _measure_score),
            groups=_ranked([c for c in filled if _is_group(c, profile)], _group_score),
            labels=_ranked([c for c in filled if _is_label(c, profile)], _label_score),
            dates=[c.name for c in filled if c.kind in ("date", "datetime")],
            texts=[c.name for c in filled if _is_long_text(c)],
        )

    def questions(self) -> list[str]:
        m, g = self.measures, self.groups
        found = []
        if self.dates:
            found.append(
                f"Monthly {m[0]} over time as a line chart"
                if m
                else f"Count rows per month of {self.dates[0]} as a line chart"
            )
        if self.labels and m:
            found.append(f"Top 10 by {m[0]} as a bar chart")
        if g and m:
            found.append(f"Compare {m[0]} by {g[0]}")
        if len(m) >= 2:
            found.append(f"How {_do(m[1])} {m[1]} relate to {m[0]}?")
        found += [f"What themes come up in {text}?" for text in self.texts[:1]]
        found += [f"Which {group} values are most common?" for group in g[:1]]
        found += [f"Show the distribution of {measure} as a histogram" for measure in m[:1]]
        found += [f"Compare {measure} by {g[0]}" for measure in m[1:2] if g]
        found += [f"Compare {m[0]} by {group}" for group in g[1:2] if m]
        return found


def _do(name: str) -> str:
    return "do" if name.endswith("s") and not name.endswith("ss") else "does"


def _ranked(columns: list[ColumnProfile], score: Callable[[ColumnProfile], int]) -> list[str]:
    return [c.name for c in sorted(columns, key=lambda c: -score(c))]  # stable: file order


def _tokens(name: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def _has_word(name: str, words: frozenset[str], *, compounds: bool = False) -> bool:
    """A word of `name` (split at _, spaces and camelCase; plural or not) is in `words`."""
    return any(_is_word(token, words, compounds=compounds) for token in _tokens(name))


def _is_word(token: str, words: frozenset[str], *, compounds: bool = False) -> bool:
    singular = token[:-1] if token.endswith("s") else token
    if token in words or singular in words:
        return True
    return compounds and any(len(w) >= 4 and singular.endswith(w) for w in words)  # "discount"


def _is_identifier(name: str) -> bool:
    """Unnamed columns and names ending in an identifier word: "Clothing ID", "change_in_rank"."""
    tokens = _tokens(name) or [""]
    return re.fullmatch(r"column_\d+", name) is not None or _is_word(tokens[-1], _ID_WORDS)


def _is_measure(column: ColumnProfile) -> bool:
    return column.kind in _NUMERIC and (column.distinct > 2 or column.distinct_capped)


def _measure_score(column: ColumnProfile) -> int:
    score = _NUMERIC[column.kind] + 4 * _has_word(column.name, _MEASURE_WORDS, compounds=True)
    return score - 3 * _has_word(column.name, _RATIO_WORDS)


def _is_group(column: ColumnProfile, profile: DataProfile) -> bool:
    values = profile.rows - column.missing
    few = 2 <= column.distinct <= 60 and not column.distinct_capped
    return column.kind in ("text", "boolean") and few and column.distinct * 2 <= values


def _group_score(column: ColumnProfile) -> int:
    return 4 * _has_word(column.name, _CATEGORY_WORDS) + (column.distinct <= 20)


def _is_label(column: ColumnProfile, profile: DataProfile) -> bool:
    unique = column.distinct >= 0.95 * (profile.rows - column.missing) or column.distinct_capped
    return column.kind == "text" and unique and not _is_long_text(column)


def _label_score(column: ColumnProfile) -> int:
    return int(_has_word(column.name, _LABEL_WORDS))


def _is_long_text(column: ColumnProfile) -> bool:
    wordy = _has_word(column.name, _LONG_TEXT_WORDS) or len(column.example) >= 80
    return column.kind == "text" and wordy
