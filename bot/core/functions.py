"""Function tools: what the bot offers the model besides its hosted tools, and how a call
becomes an answer.

    model → FunctionCall(name, JSON arguments) → FunctionTools.call → FunctionResult
          → (its visual shown in the answer) and its output sent back to the model

A tool never raises at the model: unknown names, malformed JSON and arguments the tool
refuses all become an output `{"ok": false, "error": …}` the model can act on (fix the call,
or draw a PNG instead). The first two tools are `show_chart` and `show_table`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.events import FunctionCall, FunctionSpec
from bot.core.visuals import (
    CHART_TYPES,
    MAX_CATEGORIES,
    MAX_COLUMNS,
    MAX_LABEL,
    MAX_SERIES,
    MAX_TITLE,
    Visual,
    VisualError,
    chart_from,
    describe,
    table_from,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionResult:
    output: dict[str, Any]
    """What the model is told (sent as JSON)."""
    visual: Visual | None = None
    """What the answer shows, if anything."""

    @property
    def ok(self) -> bool:
        return bool(self.output.get("ok"))

    def as_json(self) -> str:
        return json.dumps(self.output, ensure_ascii=False)


def failure(error: str) -> FunctionResult:
    return FunctionResult({"ok": False, "error": error})


class FunctionTool(Protocol):
    @property
    def spec(self) -> FunctionSpec: ...

    async def run(self, arguments: Mapping[str, Any]) -> FunctionResult: ...


class FunctionTools:
    """The registry of function tools."""

    def __init__(self, tools: Iterable[FunctionTool]) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._tools)

    def specs(self, enabled: Collection[str] | None = None) -> tuple[FunctionSpec, ...]:
        """The tools to offer (all, or those `enabled`)."""
        return tuple(
            tool.spec for name, tool in self._tools.items() if enabled is None or name in enabled
        )

    async def call(self, call: FunctionCall) -> FunctionResult:
        tool = self._tools.get(call.name)
        if tool is None:
            return failure(f"unknown function {call.name!r}; use one of {sorted(self._tools)}")
        try:
            arguments = json.loads(call.arguments or "{}", parse_constant=_no_constant)
        except ValueError as error:
            return failure(f"the arguments are not valid JSON ({error})")
        if not isinstance(arguments, dict):
            return failure("the arguments must be a JSON object")
        return await tool.run(arguments)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class ShowChart:
    """`show_chart`: a native chart in the answer."""

    spec = FunctionSpec(
        name="show_chart",
        description=(
            "Show a native, interactive chart in the answer (bar, line, area or pie). Use it "
            "for small categorical or time series: at most "
            f"{MAX_CATEGORIES} categories and {MAX_SERIES} series, labels of at most "
            f"{MAX_LABEL} characters, a title of at most {MAX_TITLE}; a pie takes one series "
            "of at most 6 positive values. Compute the numbers with Python first. For "
            "anything more complex, draw a matplotlib PNG instead."
        ),
        parameters={
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "The chart's title."},
                "type": {"type": "string", "enum": list(CHART_TYPES)},
                "categories": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "x-axis categories in order (a pie: its segment labels).",
                },
                "series": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "values": {
                                "type": "array",
                                "items": {"type": "number"},
                                "description": "One value per category, in order.",
                            },
                        },
                        "required": ["name", "values"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["title", "type", "categories", "series"],
            "additionalProperties": False,
        },
    )

    async def run(self, arguments: Mapping[str, Any]) -> FunctionResult:
        try:
            chart = chart_from(arguments)
        except VisualError as error:
            return failure(f"{error}. Fix the call, or draw the chart with matplotlib.")
        return FunctionResult({"ok": True, "result": describe(chart)}, chart)


class ShowTable:
    """`show_table`: a sortable, filterable table in the answer."""

    spec = FunctionSpec(
        name="show_table",
        description=(
            "Show a result table in the answer as a native, sortable and filterable table "
            f"(at most {MAX_COLUMNS} columns; long tables are paged and also attached as a "
            "CSV file). Use it for result tables rather than writing them in Markdown. Numbers "
            "as numbers, missing values as null."
        ),
        parameters={
            "type": "object",
            "properties": {
                "caption": {"type": "string", "description": "What the table shows."},
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "items": {"type": ["string", "number", "null"]},
                    },
                    "description": "One list of cells per row, in column order.",
                },
            },
            "required": ["caption", "columns", "rows"],
            "additionalProperties": False,
        },
    )

    async def run(self, arguments: Mapping[str, Any]) -> FunctionResult:
        try:
            table = table_from(arguments)
        except VisualError as error:
            return failure(f"{error}. Fix the call.")
        return FunctionResult({"ok": True, "result": describe(table)}, table)


def visual_tools() -> FunctionTools:
    """The function tools every turn may use."""
    return FunctionTools([ShowChart(), ShowTable()])
