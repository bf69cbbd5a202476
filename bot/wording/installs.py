"""The pages an installer's browser shows: `/slack/install` and the end of Slack's OAuth flow."""

from __future__ import annotations

INSTALL_PAGE_TITLE = "Install Analyst"
INSTALL_PAGE_TEXT = (
    "Analyst answers data questions in Slack threads: share a CSV or spreadsheet, mention "
    "@Analyst, and it runs the analysis and posts the answer and charts in the thread."
)
INSTALL_BUTTON = "Add to Slack"
INSTALLED_TITLE = "Analyst is installed"
INSTALLED_TEXT = (
    "Analyst is now in {team}. Invite it to a channel (/invite @Analyst), share a data file "
    "and mention @Analyst with a question."
)
OPEN_SLACK = "Open Slack"
INSTALL_FAILED_TITLE = "Analyst was not installed"
INSTALL_FAILED_AGAIN = "Start again"
# Why an install did not happen, by the reason Bolt's OAuth flow gives.
INSTALL_FAILURES = {
    "access_denied": "The installation was cancelled in Slack. Nothing was installed.",
    "invalid_browser": (
        "This install link was opened in another browser, or it expired. Start again from "
        "the install page in this browser."
    ),
    "invalid_state": "This install link expired or was already used. Start again.",
    "missing_code": "Slack did not confirm the installation. Start again.",
    "invalid_code": "Slack did not confirm the installation (the link expired). Start again.",
    "storage_error": "The installation could not be saved. Please try again in a minute.",
}
INSTALL_FAILED_OTHERWISE = "Something went wrong while installing. Please start again."
