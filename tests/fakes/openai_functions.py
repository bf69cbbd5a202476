"""Function calling, server side: tool definitions, pending calls and their outputs.

- Function tools are checked like the real service checks them: a name matching
  ``^[a-zA-Z0-9_-]{1,64}$`` and, for ``strict: true``, a schema whose every object sets
  ``additionalProperties: false`` and lists every property in ``required`` (reference
  openai.md §6; the messages follow the service's "Invalid schema for function …" wording).
- A ``function_call`` stored in a conversation must get its ``function_call_output`` in the
  next request on that conversation, else 400 "No tool output found for function call …"
  (openai.md §6, pitfall 15); an output whose call id matches no pending call is refused.
- A scripted `CallFunction` becomes ``output_item.added`` (``arguments: ""``) →
  ``function_call_arguments.delta``* → ``.done`` → ``output_item.done`` (reference §6).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from tests.fakes.openai_state import ApiError
from tests.fakes.scripted_model import CallFunction

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def offered_functions(request: Mapping[str, Any]) -> set[str]:
    return {
        str(tool.get("name"))
        for tool in request.get("tools") or []
        if isinstance(tool, dict) and tool.get("type") == "function"
    }


def check_function_tools(request: Mapping[str, Any]) -> None:
    """Refuse function tool definitions the service refuses."""
    for index, tool in enumerate(request.get("tools") or []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ApiError(
                400,
                f"Invalid 'tools[{index}].name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                param=f"tools[{index}].name",
                code="invalid_value",
            )
        if tool.get("strict"):
            problem = _strict_problem(tool.get("parameters") or {}, ())
            if problem:
                raise ApiError(
                    400,
                    f"Invalid schema for function '{name}': {problem}",
                    param=f"tools[{index}].parameters",
                    code="invalid_function_parameters",
                )


def _strict_problem(schema: Any, context: tuple[str, ...]) -> str | None:
    if not isinstance(schema, dict):
        return None
    where = f"In context={context!r}, "
    types = schema.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if is_object:
        if schema.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        missing = [key for key in properties if key not in (schema.get("required") or [])]
        if missing:
            return (
                where + "'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
        for key, sub in properties.items():
            if problem := _strict_problem(sub, (*context, "properties", key)):
                return problem
    for key in ("items",):
        if problem := _strict_problem(schema.get(key), (*context, key)):
            return problem
    for key in ("anyOf",):
        for i, sub in enumerate(schema.get(key) or []):
            if problem := _strict_problem(sub, (*context, key, str(i))):
                return problem
    return None


def check_function_outputs(
    request: Mapping[str, Any], input_items: Sequence[Mapping[str, Any]], history: Sequence[Any]
) -> None:
    """Every pending call of the conversation is answered; every output answers a call."""
    answered = {
        str(item.get("call_id"))
        for item in [*history, *input_items]
        if item.get("type") == "function_call_output"
    }
    calls = [
        str(item.get("call_id"))
        for item in [*history, *input_items]
        if item.get("type") == "function_call"
    ]
    for call_id in calls:
        if call_id not in answered:
            raise ApiError(400, f"No tool output found for function call {call_id}.", param="input")
    known = set(calls)
    for item in input_items:
        call_id = item.get("call_id")
        if item.get("type") == "function_call_output" and call_id not in known:
            raise ApiError(
                400,
                f"No tool call found for function call output with call_id {call_id}.",
                param="input",
            )


def check_scripted_calls(request: Mapping[str, Any], calls: Sequence[CallFunction]) -> None:
    """A model only calls functions it was offered: a script that does not is a test bug."""
    offered = offered_functions(request)
    for call in calls:
        if call.name not in offered:
            raise ApiError(
                400,
                f"FakeOpenAI: the scripted turn calls function '{call.name}' but the request "
                f"offers only {sorted(offered)}.",
                code="fake_script_error",
            )


Emit = Callable[..., dict[str, Any]]


async def function_call_events(
    call: CallFunction,
    *,
    item_id: str,
    call_id: str,
    add_output: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
    event: Emit,
    delta: Emit,
) -> AsyncIterator[dict[str, Any]]:
    """The events of one function call (the item is added to the response's output)."""
    arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
    item: dict[str, Any] = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": call.name,
    }
    index, snapshot = add_output(item)
    ids = {"item_id": item_id, "output_index": index}
    yield event("response.output_item.added", output_index=index, item=snapshot)
    size = max(1, -(-len(arguments) // max(1, call.argument_deltas)))
    for piece in (arguments[i : i + size] for i in range(0, len(arguments), size)):
        yield delta("response.function_call_arguments.delta", delta=piece, **ids)
    yield event("response.function_call_arguments.done", arguments=arguments, name=call.name, **ids)
    item |= {"status": "completed", "arguments": arguments}
    yield event("response.output_item.done", output_index=index, item=copy.deepcopy(item))
