"""The one schema, shared by SQLite and PostgreSQL (Alembic migrations create it).

threads ─┬─< thread_files >── files        a Slack thread ↔ its OpenAI conversation/container
         └─< turns ─┬─< artifacts           the durable per-thread queue and each turn's record
                    ├─< feedback            (kept, without the turn, when the thread expires)
                    └─< replies             the outbox: final messages until Slack took them
channel_settings                            each channel's analyst profile
handled_actions                             button clicks already acted on
turn_usage, budget_notices                  what turns cost (no foreign key: kept when turns
                                            are deleted), near-the-limit notices given
retired_workspaces                          workspaces whose data is to be deleted
deletions                                   OpenAI objects of deleted threads, until deleted there
slack_installations, oauth_states           OAuth installs per workspace, install states
parked_replies (in store.parking)           thread replies waiting briefly for their mention
received_events (in store.events)           Slack events acknowledged and not yet handled
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from store.columns import JSONValue, UTCDateTime, metadata, now_column

TURN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED_STATUSES = ("done", "failed", "cancelled", "interrupted")


threads = Table(
    "threads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("conversation_id", String(128)),
    Column("container_id", String(128)),
    Column("vector_store_id", String(128)),
    Column("engaged", Boolean, nullable=False, server_default=text("false")),
    now_column("created_at"),
    # The thread's last activity: a question recorded in it, or the bot binding an OpenAI
    # object to it. The retention job deletes threads idle for ANALYST_RETENTION_DAYS.
    now_column("updated_at"),
    UniqueConstraint("team_id", "channel_id", "thread_ts"),
    Index("ix_threads_updated_at", "updated_at"),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("slack_file_id", String(64), nullable=False),
    Column("name", String(512), nullable=False),
    Column("mimetype", String(255), nullable=False, server_default=""),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("openai_file_id", String(128), nullable=False),
    Column("permalink", String(1024)),
    now_column("created_at"),
    UniqueConstraint("team_id", "slack_file_id"),
)

thread_files = Table(
    "thread_files",
    metadata,
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("container_id", String(128)),
    Column("container_file_id", String(128)),
    Column("container_path", String(1024)),
    # The thread's vector store a document was indexed in, and how that ended
    # (completed / failed): documents are searchable with file_search.
    Column("vector_store_id", String(128)),
    Column("search_status", String(16)),
    now_column("created_at"),
)

turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("message_ts", String(64), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("files", JSONValue, nullable=False),
    Column("channel_type", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("gather_context", Boolean, nullable=False, server_default=text("false")),
    Column("retry_of", Integer),
    Column("status", String(16), nullable=False, server_default="queued"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UTCDateTime()),
    Column("response_id", String(128)),
    Column("last_sequence", Integer),
    Column("reply_ts", String(64)),
    # How far a running turn got (see `bot.core.progress`): a takeover continues from it.
    Column("progress", JSONValue),
    Column("usage", JSONValue),
    Column("timings", JSONValue),
    Column("code_runs", JSONValue),
    Column("answer_text", Text),  # what the answer showed, links rewritten
    Column("error_code", String(64)),
    Column("error_ref", String(32)),
    Column("cancelled_by", String(32)),
    now_column("created_at"),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    # Slack retries and the app_mention/message twins of one message collapse here.
    UniqueConstraint("team_id", "channel_id", "message_ts"),
    Index("ix_turns_status_id", "status", "id"),
    Index("ix_turns_thread_id_status", "thread_id", "status"),
    # At most one running turn per thread, across processes and replicas.
    Index(
        "uq_turns_one_running_per_thread",
        "thread_id",
        unique=True,
        sqlite_where=text("status = 'running'"),
        postgresql_where=text("status = 'running'"),
    ),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("turn_id", ForeignKey("turns.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("container_file_id", String(128)),
    Column("slack_file_id", String(64)),
    Column("permalink", String(1024)),
    now_column("created_at"),
    UniqueConstraint("turn_id", "sha256"),
)

# A verdict outlives its answer: when the retention job deletes a thread, its feedback stays
# as a figure (workspace, channel, who, 👍/👎, when) with `turn_id` cleared.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("turn_id", ForeignKey("turns.id", ondelete="SET NULL")),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("value", String(16), nullable=False),
    now_column("created_at"),
    UniqueConstraint("turn_id", "user_id"),
)

# A channel's analyst profile (`bot.core.records.ChannelProfile`); no row: the defaults.
channel_settings = Table(
    "channel_settings",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),
    Column("auto_profile", Boolean, nullable=False, server_default=text("true")),
    now_column("updated_at"),
    Column("instructions", Text, nullable=False, server_default=""),
    Column("model", String(128)),
    Column("reasoning_effort", String(16)),
    # Switched off (rather than on), so a tool added later is on everywhere by default.
    Column("disabled_tools", JSONValue),
    Column("updated_by", String(32)),
)

# Button clicks already acted on (double clicks, Slack redeliveries).
handled_actions = Table(
    "handled_actions",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("handled_at", UTCDateTime(), nullable=False),
)

# The outbox: a turn's final messages (answer pages, error replies), written before they are
# posted and kept until Slack accepted them, so a restart delivers them exactly once.
replies = Table(
    "replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("turn_id", ForeignKey("turns.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", String(64)),
    Column("payload", JSONValue, nullable=False),
    Column("delivered_at", UTCDateTime()),
    now_column("created_at"),
    UniqueConstraint("turn_id", "seq"),
    Index("ix_replies_delivered_at", "delivered_at"),
)

retired_workspaces = Table(
    "retired_workspaces",
    metadata,
    Column("team_id", String(32), primary_key=True),
    now_column("retired_at"),
    Column("returned_at", UTCDateTime()),  # installed again: served, old data still due
)

# What each turn cost (`bot.core.records.TurnUsage`). No foreign key on purpose: retention
# deletes turns and their content, these figures stay (they name no content).
turn_usage = Table(
    "turn_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("turn_id", Integer, nullable=False),
    Column("model", String(128), nullable=False),
    Column("responses", Integer, nullable=False),
    Column("unmetered", Integer, nullable=False),
    # NULL: unknown (no response of the turn reported its usage), never a made-up zero.
    Column("input_tokens", BigInteger),
    Column("cached_input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("reasoning_tokens", BigInteger),
    Column("container_sessions", Integer, nullable=False),
    Column("file_searches", Integer, nullable=False),
    Column("cost_usd", Float),  # NULL: the model has no price
    now_column("created_at"),
    # The budgets' sums: a person's day, a channel's and a workspace's month; the CLI's range.
    Index("ix_turn_usage_team_id_user_id_created_at", "team_id", "user_id", "created_at"),
    Index("ix_turn_usage_team_id_channel_id_created_at", "team_id", "channel_id", "created_at"),
    Index("ix_turn_usage_team_id_created_at", "team_id", "created_at"),
    Index("ix_turn_usage_created_at", "created_at"),
)

# A budget's near-the-limit notice, given once per budget period (across replicas).
budget_notices = Table(
    "budget_notices",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("budget", String(32), primary_key=True),
    Column("subject", String(32), primary_key=True),
    Column("period_start", UTCDateTime(), primary_key=True),
    now_column("created_at"),
)

# OpenAI objects whose local records the retention job already deleted, until OpenAI confirms
# their deletion (a 404 counts). A replica claims a row for `claimed_until` before deleting.
deletions = Table(
    "deletions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # conversation, container, vector_store, file
    Column("object_id", String(128), nullable=False),
    now_column("created_at"),
    Column("claimed_by", String(128)),
    Column("claimed_until", UTCDateTime()),
    UniqueConstraint("kind", "object_id"),
    Index("ix_deletions_team_id", "team_id"),
)

# The app's installation in each workspace (OAuth mode): one row per workspace, the latest
# install wins. The bot token is a credential: protect the database like the env file.
slack_installations = Table(
    "slack_installations",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("team_name", String(200), nullable=False, server_default=""),
    Column("enterprise_id", String(32)),
    Column("app_id", String(32), nullable=False),
    Column("bot_user_id", String(32), nullable=False),
    Column("bot_id", String(32), nullable=False),
    Column("bot_token", String(255), nullable=False),
    Column("bot_scopes", Text, nullable=False, server_default=""),
    Column("installer_user_id", String(32), nullable=False),
    now_column("installed_at"),
)

# OAuth `state` values handed to installers' browsers: each is good once, until it expires.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(200), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False),
)
