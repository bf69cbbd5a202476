"""`slack-analyst doctor`: what it tells the operator about the configuration, in plain words."""

from __future__ import annotations

DOCTOR_TITLE = "Slack Analyst doctor: {mode}, {access}, database {dialect}"
DOCTOR_MODES = {"http": "HTTP mode", "socket": "Socket Mode"}
DOCTOR_ACCESS = {False: "one workspace (SLACK_BOT_TOKEN)", True: "installed through OAuth"}
DOCTOR_OK, DOCTOR_FAIL, DOCTOR_WARN, DOCTOR_HINT = "ok  ", "FAIL", "warn", "note"
DOCTOR_SETTINGS_OK = "Settings: every variable is valid."
DOCTOR_SETTINGS_BAD = "Settings: {count} problem(s); nothing else was checked:"
DOCTOR_ALL_WELL = "All checks passed."
DOCTOR_PROBLEMS = "{count} problem(s) found: fix the lines marked FAIL."

DOCTOR_TOKEN_OK = "Slack: the {which} works for {team} ({team_id}) as @{user}."
DOCTOR_TOKEN_BAD = {
    "invalid_auth": "Slack: Slack does not know the {which}: copy the Bot User OAuth Token "
    "(xoxb-…) from OAuth & Permissions again.",
    "token_revoked": "Slack: the {which} was revoked (the app was removed or reinstalled): "
    "reinstall the app and copy its new token.",
    "account_inactive": "Slack: the {which} belongs to a deactivated app or workspace.",
    "not_authed": "Slack: no token was sent: set SLACK_BOT_TOKEN.",
}
DOCTOR_TOKEN_OTHER = "Slack: auth.test with the {which} failed ({code})."
DOCTOR_UNREACHABLE = "{service}: no answer from {url} ({code}): check the URL and the network."
DOCTOR_SCOPES_OK = "Slack: the {which} has every scope the manifest asks for."
DOCTOR_SCOPES_MISSING = (
    "Slack: the {which} lacks {count} scope(s) the manifest asks for: {scopes}. Add them under "
    "OAuth & Permissions → Scopes (or paste manifest.yml again) and reinstall the app."
)
DOCTOR_SCOPES_UNKNOWN = "Slack: Slack did not say which scopes the {which} has."
DOCTOR_BOT_TOKEN = "bot token"
DOCTOR_INSTALL_TOKEN = "bot token of workspace {team_id}"
DOCTOR_APP_TOKEN_OK = "Slack: the app-level token opens Socket Mode."
DOCTOR_APP_TOKEN_BAD = (
    "Slack: the app-level token does not open Socket Mode ({code}): create one with "
    "connections:write under Basic Information → App-Level Tokens, and switch Socket Mode on."
)
DOCTOR_CLIENT_OK = "Slack: Slack knows the OAuth client id and secret."
DOCTOR_CLIENT_BAD = (
    "Slack: Slack refused the OAuth client credentials ({code}): copy SLACK_CLIENT_ID and "
    "SLACK_CLIENT_SECRET from Basic Information → App Credentials again."
)
DOCTOR_NO_INSTALLS = (
    "Slack: no workspace has installed the app yet: open https://<this bot's host>/slack/install."
)
DOCTOR_INSTALLS_UNREADABLE = "Slack: the installations could not be read (the database failed)."
DOCTOR_EVENTS_HTTP = (
    "Slack must send events, interactivity and the /analyst command to "
    "https://<this bot's host>/slack/events (Event Subscriptions, Interactivity & Shortcuts, "
    "Slash Commands), subscribed to the bot events {events}. Slack cannot be asked which "
    "events an app subscribes to: compare with manifest.yml."
)
DOCTOR_EVENTS_SOCKET = (
    "Socket Mode must be switched on in the app's settings, with the bot events {events} "
    "(Slack cannot be asked which events an app subscribes to: compare with manifest.yml)."
)

DOCTOR_MODEL_OK = "OpenAI: model {name} is available to this key{role}."
DOCTOR_MODEL_UNKNOWN = (
    "OpenAI: model {name}{role} does not exist or this key cannot use it: fix {variable} "
    "(see the models your key can use at https://platform.openai.com/settings)."
)
DOCTOR_KEY_REFUSED = (
    "OpenAI: the API key was refused ({code}): check OPENAI_API_KEY (and OPENAI_BASE_URL)."
)
DOCTOR_MODEL_ERROR = "OpenAI: asking about model {name} failed ({code})."
DOCTOR_MODEL_SHUTDOWN = "OpenAI: model {name} shuts down on {date}: pick its successor soon."
DOCTOR_ROLE_DEFAULT = " (ANALYST_MODEL)"
DOCTOR_ROLE_CHOICE = " (in ANALYST_MODELS)"

DOCTOR_DB_OK = "Database: reachable, schema at {current} (this code's newest)."
DOCTOR_DB_UNREACHABLE = "Database: cannot connect ({code}): check DATABASE_URL and the server."
DOCTOR_DB_MISSING_FILE = (
    "Database: the SQLite file {path} does not exist yet: run `slack-analyst migrate` "
    "(the bot also creates it at start-up)."
)
DOCTOR_DB_NOT_MIGRATED = (
    "Database: reachable but never migrated (this code needs {head}): run `slack-analyst migrate`."
)
DOCTOR_DB_BEHIND = (
    "Database: schema at {current}, this code needs {head}: run `slack-analyst migrate` "
    "(or, if the database is newer, deploy the newer code everywhere)."
)

DOCTOR_HOSTS_OK = "File hosts: the bot token is sent only to {hosts}."
DOCTOR_HOST_FOREIGN = (
    "File hosts: SLACK_FILE_HOSTS lists {host}, which is not Slack's: the bot token would be "
    "sent there. Keep only Slack's file hosts (files.slack.com, files-origin.slack.com)."
)
DOCTOR_HOST_NO_SLACK = (
    "File hosts: SLACK_FILE_HOSTS does not list files.slack.com: files shared in Slack cannot be "
    "downloaded."
)
DOCTOR_REDIRECT_FOREIGN = (
    "File hosts: downloads may be redirected to {host} (SLACK_FILE_REDIRECT_HOSTS), which is not "
    "Slack's CDN; the token is not sent there, but the file's content comes from it."
)
DOCTOR_API_URL = "Slack: Web API calls go to {url}, not Slack's own."
