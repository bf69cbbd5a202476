"""What a turn's requests to the Responses API look like on the wire.

The tools (the thread's container, its documents, the bot's function tools), the input (the
user's message, or answers to the model's function calls), and the repair of a conversation
a stopped turn left with an unanswered function call.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import openai

from bot.core.events import ModelRequest
from bot.core.instructions import full_instructions
from bot.core.tools import CODE_INTERPRETER, FILE_SEARCH

logger = logging.getLogger(__name__)

_DANGLING_CALL = re.compile(r"No tool output found for function call (call_[A-Za-z0-9_-]+)")
_ABANDONED = json.dumps({"ok": False, "error": "the turn that made this call was stopped"})


def request_params(request: ModelRequest, *, model: str) -> dict[str, Any]:
    """The body of `responses.create` for one request of a turn (streamed, in the
    background); only the tools the channel has on are sent."""
    params: dict[str, Any] = {
        "model": request.model or model,
        "conversation": request.conversation_id,
        "instructions": full_instructions(request),
        "input": _input(request),
        "truncation": "auto",
        # Background mode: the response goes on if this process dies, and any replica can
        # read its events again (`OpenAIEngine.reattach`) to take the turn over.
        "background": True,
        "stream": True,
    }
    tools: list[dict[str, Any]] = []
    if CODE_INTERPRETER in request.tools:  # the channel may have switched Python off
        tools.append({"type": "code_interpreter", "container": request.container_id})
        params["include"] = ["code_interpreter_call.outputs"]
    if request.vector_store_id and FILE_SEARCH in request.tools:
        tools.append({"type": "file_search", "vector_store_ids": [request.vector_store_id]})
    tools += [
        {
            "type": "function",
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
            "strict": True,
        }
        for spec in request.functions
        if spec.name in request.tools
    ]
    if tools:
        params["tools"] = tools
        params["tool_choice"] = _tool_choice(request)
    if request.reasoning_effort:
        params["reasoning"] = {"effort": request.reasoning_effort}
    if request.metadata:
        params["metadata"] = request.metadata
    if request.user_hash:
        params["safety_identifier"] = request.user_hash
    return params


def answered_dangling_call(params: dict[str, Any], error: openai.APIStatusError) -> bool:
    """A conversation refuses new input while a function call of an earlier turn (one that
    was cancelled or crashed between its rounds) has no output: answer that call as
    abandoned, in this request, so the thread works again. False when that is not the error
    or the call was already answered here."""
    found = _DANGLING_CALL.search(str(getattr(error, "message", "") or error))
    if found is None:
        return False
    call_id = found.group(1)
    inputs: list[dict[str, Any]] = params["input"]
    if any(item.get("call_id") == call_id for item in inputs):
        return False
    logger.info("responses.create: answering abandoned function call %s", call_id)
    inputs.insert(0, {"type": "function_call_output", "call_id": call_id, "output": _ABANDONED})
    return True


def _input(request: ModelRequest) -> list[dict[str, Any]]:
    """Answers to the model's function calls first, then the user's message (if any)."""
    items: list[dict[str, Any]] = [
        {"type": "function_call_output", "call_id": out.call_id, "output": out.output}
        for out in request.function_outputs
    ]
    if request.text or request.image_file_ids or not items:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": request.text}]
        content += [
            {"type": "input_image", "file_id": file_id, "detail": "auto"}
            for file_id in request.image_file_ids
        ]
        items.append({"type": "message", "role": "user", "content": content})
    return items


def _tool_choice(request: ModelRequest) -> str | dict[str, str]:
    if not request.tools_allowed:
        return "none"
    forced = request.force_python and CODE_INTERPRETER in request.tools
    return {"type": "code_interpreter"} if forced else "auto"
