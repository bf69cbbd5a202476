"""Who may use the analyst: what a refused person reads (ephemeral, once per thread)."""

from __future__ import annotations

ACCESS_REFUSED = {
    "external": (
        "Sorry, I only work for people of this workspace's own organisation, so I didn't read "
        "your message or your files."
    ),
    "user": "Sorry, you're not on the list of people who can use Analyst here.",
    "channel": "Sorry, Analyst isn't switched on in this channel.",
    "dm": "Sorry, Analyst isn't available in direct messages here.",
}
ACCESS_ASK = "To get access, ask {contact}."
ACCESS_ASK_ADMIN = "To get access, ask a Slack admin of this workspace."
