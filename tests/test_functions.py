"""Function tools: the fake OpenAI's function calling (through the real SDK) and the bot's
pure pieces (argument checks, the registry)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from bot.core.events import FunctionCall
from bot.core.functions import visual_tools
from bot.core.visuals import Chart, VisualError, chart_from, plain_text, table_from
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import CallFunction, ScriptedTurn

pytest_plugins = ["tests.fakes.openai_fixtures"]  # fake_openai, openai_client

MODEL = "gpt-5.5"
TOOLS: list[Any] = [
    {"type": "function", "name": spec.name, "description": spec.description,
     "parameters": spec.parameters, "strict": True}
    for spec in visual_tools().specs()
]  # fmt: skip
CHART = {
    "title": "Sales",
    "type": "line",
    "categories": ["Jan", "Feb"],
    "series": [{"name": "2026", "values": [1, 2.5]}],
}


# The fake ------------------------------------------------------------------------------


async def test_a_function_call_streams_like_the_service(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    conversation = await openai_client.conversations.create()
    fake_openai.model.enqueue(ScriptedTurn(text="", calls=(CallFunction("show_chart", CHART),)))
    stream = await openai_client.responses.create(
        model=MODEL, input="chart it", conversation=conversation.id, tools=TOOLS, stream=True
    )
    events = [event async for event in stream]  # the SDK parses every event into its type
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == CHART
    final = events[-1].response
    [call] = [item for item in final.output if item.type == "function_call"]
    assert call.name == "show_chart"
    assert call.call_id.startswith("call_")
    assert not [item for item in final.output if item.type == "message"]

    # The conversation now waits for that call's output.
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(
            model=MODEL, input="next", conversation=conversation.id, tools=TOOLS
        )
    assert caught.value.body["message"] == f"No tool output found for function call {call.call_id}."
    fake_openai.model.enqueue(ScriptedTurn(text="Charted."))
    answered = await openai_client.responses.create(
        model=MODEL,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "{}"}],
        conversation=conversation.id,
        tools=TOOLS,
    )
    assert answered.output_text == "Charted."


async def test_an_output_for_an_unknown_call_is_refused(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(
            model=MODEL,
            input=[{"type": "function_call_output", "call_id": "call_nope", "output": "{}"}],
        )
    assert "No tool call found for function call output with call_id call_nope" in str(caught.value)


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
         "'additionalProperties' is required to be supplied and to be false"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": [],
          "additionalProperties": False}, "Missing 'a'"),
    ],
)  # fmt: skip
async def test_strict_schemas_are_checked(
    openai_client: AsyncOpenAI, parameters: dict[str, Any], problem: str
) -> None:
    tool: Any = {"type": "function", "name": "f", "parameters": parameters, "strict": True}
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model=MODEL, input="x", tools=[tool])
    assert "Invalid schema for function 'f'" in str(caught.value)
    assert problem in str(caught.value)


async def test_the_bots_own_schemas_are_accepted(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    response = await openai_client.responses.create(model=MODEL, input="x", tools=TOOLS)
    assert response.status == "completed"
    assert fake_openai.spec_report() == ""


# The bot's pieces --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"title": "x" * 51}, "title is at most 50 characters"),
        ({"type": "scatter"}, "type must be one of bar, line, area, pie"),
        ({"categories": ["Jan", "Jan"], "series": [{"name": "a", "values": [1, 2]}]},
         "categories must be unique"),
        ({"categories": ["January 2026 and some more"]}, "at most 20 characters"),
        ({"series": [{"name": "a", "values": [1]}]}, "has 1 values for 2 categories"),
        ({"series": [{"name": "a", "values": [1, None]}]}, "finite numbers"),
        ({"series": [{"name": f"s{i}", "values": [1, 2]} for i in range(7)]}, "1 to 6 series"),
        ({"type": "pie", "series": [{"name": "a", "values": [1, -2]}]}, "greater than 0"),
        ({"type": "pie", "categories": list("abcdefg"),
          "series": [{"name": "a", "values": [1] * 7}]}, "at most 6 segments"),
    ],
)  # fmt: skip
def test_chart_arguments_are_checked(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(VisualError, match=problem):
        chart_from(CHART | change)


def test_a_valid_chart_and_its_text_form() -> None:
    chart = chart_from(CHART)
    assert isinstance(chart, Chart)
    assert chart.series[0].values == (1.0, 2.5)
    assert plain_text(chart).splitlines()[0] == "Sales (line chart)"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"caption": "t", "columns": [], "rows": [[1]]}, "columns must be 1 to 20"),
        ({"caption": "t", "columns": ["a"], "rows": []}, "rows must be a non-empty list"),
        ({"caption": "t", "columns": ["a", "b"], "rows": [[1]]}, "has 1 cells for 2 columns"),
        ({"caption": "t", "columns": ["a"], "rows": [[{"x": 1}]]}, "strings, numbers or null"),
        ({"caption": "", "columns": ["a"], "rows": [[1]]}, "caption is required"),
    ],
)
def test_table_arguments_are_checked(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(VisualError, match=problem):
        table_from(arguments)


@pytest.mark.parametrize(
    ("name", "arguments", "problem"),
    [
        ("show_graph", "{}", "unknown function 'show_graph'"),
        ("show_chart", "[1, 2]", "must be a JSON object"),
        ("show_chart", '{"title": NaN}', "not valid JSON"),
        ("show_chart", "{", "not valid JSON"),
    ],
)
async def test_the_registry_answers_bad_calls(name: str, arguments: str, problem: str) -> None:
    result = await visual_tools().call(FunctionCall("call_1", name, arguments))
    assert not result.ok
    assert result.visual is None
    assert problem in json.loads(result.as_json())["error"]
