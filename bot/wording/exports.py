"""Export notebook: the button's replies and the text inside the notebook."""

from __future__ import annotations

# Export notebook: the button's replies, and the text inside the notebook (Markdown cells).
NOTHING_TO_EXPORT = "There is nothing to export yet: no answer or Python run is recorded here."
EXPORT_FAILED = "I couldn't post the notebook to this thread. Please try again in a minute."
NOTEBOOK_FILE_TITLE = "Notebook: {title}"
NOTEBOOK_INTRO = "Exported from a Slack thread on {when}: {count} question(s), in order."
NOTEBOOK_FILES = "Files of this analysis (the code reads them from `/mnt/data/`): {names}"
NOTEBOOK_ASKED = "**{name}** asked on {when}:"
NOTEBOOK_NO_TEXT = "_(The text of this answer was not kept.)_"
NOTEBOOK_ENDED = {  # a question without an answer, by how its turn ended
    "failed": "_This question got no answer: the analysis failed._",
    "cancelled": "_This question got no answer: the analysis was cancelled._",
    "interrupted": "_This question got no answer: the analysis was interrupted._",
    "queued": "_This question was still waiting for its answer._",
    "running": "_This question was still being answered._",
}
NOTEBOOK_FILE_GONE = "_{name} is no longer available in Slack._"
NOTEBOOK_FILE_TOO_LARGE = "_{name} is too large to embed here; it is in the Slack thread._"
NOTEBOOK_FILE_POSTED = "_{name} was posted in the Slack thread._"
