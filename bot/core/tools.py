"""The tools a channel's analyst may use, by the names `/analyst settings` and the config file
use. The engine sends the model only the enabled ones (`ModelRequest.tools`)."""

from __future__ import annotations

CODE_INTERPRETER = "code_interpreter"
"""OpenAI's hosted Python: without it, data files cannot be analysed."""
FILE_SEARCH = "file_search"
"""Retrieval over the documents shared in a thread (a vector store)."""
SHOW_CHART = "show_chart"
"""A native Slack chart (`data_visualization` block), drawn by the bot from the model's data."""
SHOW_TABLE = "show_table"
"""A native Slack table (`data_table` block)."""

TOOL_NAMES = (CODE_INTERPRETER, FILE_SEARCH, SHOW_CHART, SHOW_TABLE)
"""Every tool, in the order people see them."""
ALL_TOOLS = frozenset(TOOL_NAMES)
