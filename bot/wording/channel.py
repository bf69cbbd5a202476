"""Channel analyst profiles: `/analyst`, its settings modal, and the announcements."""

from __future__ import annotations

# Channel analyst profiles: /analyst, its settings modal, announcements -------------------------
ANALYST_HELP = (
    "*Analyst in this channel*\n• Mention me with a question (and files); I answer in the "
    "thread.\n• `/analyst settings`: this channel's analyst (instructions, model, reasoning "
    "effort, tools, quick looks at shared data files). Anyone in the channel can change it; "
    "changes are announced in the channel.\n• `/analyst help`: this message."
)
ANALYST_IN_DM = "Analyst settings belong to a channel: run `/analyst settings` in that channel."
ANALYST_NOT_IN_CHANNEL = "I'm not in this channel: invite me (`/invite @Analyst`), then try again."
ANALYST_TOO_SLOW = "That took too long and Slack closed the window. Run `/analyst settings` again."
ANALYST_OPEN_FAILED = "I couldn't open the settings just now. Please try again in a minute."
SETTINGS_TITLE, SETTINGS_SAVE, SETTINGS_CANCEL, SETTINGS_CLOSE = (
    "Analyst settings", "Save", "Cancel", "Close"
)  # fmt: skip
SETTINGS_INTRO = "How I answer in <#{channel}>. Anyone here can change it; changes are announced."
SETTINGS_MANAGED = ":lock: The bot's admins manage this channel's analyst in a settings file."
SETTINGS_LAST_CHANGE = "Last changed by <@{user}> on {when}."
LABEL_INSTRUCTIONS, LABEL_MODEL, LABEL_EFFORT, LABEL_TOOLS, LABEL_DROPS = (
    "Instructions for this channel", "Model", "Reasoning effort", "Tools", "Shared data files"
)  # fmt: skip
HINT_INSTRUCTIONS = "Added to my own rules here, e.g. “Amounts are in EUR.” Up to 3,000 characters."
DEFAULT_MODEL_OPTION, RETIRED_MODEL_OPTION = "Default ({model})", "{model} (no longer offered)"
DEFAULT_EFFORT_OPTION, ON, OFF, NONE = "The model's default", "on", "off", "none"
TOOL_LABELS = {
    "code_interpreter": "Python (code interpreter)",
    "file_search": "Search in shared documents",
    "show_chart": "Native Slack charts",
    "show_table": "Native Slack tables",
}
AUTO_PROFILE_LABEL = "Quick look at data files shared without a question"
PROFILE_INSTRUCTIONS_TOO_LONG = "Keep it to {limit:,} characters (this is {length:,})."
PROFILE_MODEL_NOT_ALLOWED = "{model} is not offered here any more. Pick one of: {models}."
PROFILE_EFFORT_UNKNOWN = "{effort!r} is not a reasoning effort. Pick one of: {efforts}."
PROFILE_TOOLS_UNKNOWN = "Unknown tools: {names}. Known tools: {tools}."
SETTINGS_NOW_MANAGED = "The bot's admins now manage this channel in a settings file."
SETTINGS_CHANGED = "{name} changed this channel's analyst settings: {changes}."
CHANGE_MODEL, CHANGE_MODEL_DEFAULT = "model → {model}", "model → the default ({model})"
CHANGE_EFFORT, CHANGE_EFFORT_DEFAULT = "reasoning effort → {effort}", "reasoning effort → default"
CHANGE_INSTRUCTIONS, CHANGE_INSTRUCTIONS_REMOVED = "instructions updated", "instructions removed"
CHANGE_ON, CHANGE_OFF = "{what} on", "{what} off"
AUTO_PROFILE_MANAGED = ":lock: The bot's admins manage this channel's settings in a file."
