"""The one schema, shared by SQLite and PostgreSQL (Alembic migrations create it).

threads ─┬─< thread_files >── files        a Slack thread ↔ its OpenAI conversation/container
         └─< turns ─┬─< artifacts           the durable per-thread queue and each turn's record
                    ├─< feedback
                    └─< replies             the outbox: final messages until Slack took them
channel_settings                            each channel's analyst profile
handled_actions                             button clicks already acted on
retired_workspaces                          workspaces whose data is to be deleted
slack_installations, oauth_states           OAuth installs per workspace, install states
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

TURN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
FINISHED_STATUSES = ("done", "failed", "cancelled", "interrupted")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        # SQLite compares datetimes as text: store them naive, all in UTC, one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONValue = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _now_column(name: str) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=False)


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
    _now_column("created_at"),
    _now_column("updated_at"),
    UniqueConstraint("team_id", "channel_id", "thread_ts"),
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
    _now_column("created_at"),
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
    _now_column("created_at"),
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
    Column("usage", JSONValue),
    Column("timings", JSONValue),
    Column("code_runs", JSONValue),
    Column("answer_text", Text),  # what the answer showed, links rewritten
    Column("error_code", String(64)),
    Column("error_ref", String(32)),
    Column("cancelled_by", String(32)),
    _now_column("created_at"),
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
    _now_column("created_at"),
    UniqueConstraint("turn_id", "sha256"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("turn_id", ForeignKey("turns.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("value", String(16), nullable=False),
    _now_column("created_at"),
    UniqueConstraint("turn_id", "user_id"),
)

# A channel's analyst profile (`bot.core.records.ChannelProfile`); no row: the defaults.
channel_settings = Table(
    "channel_settings",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("channel_id", String(32), primary_key=True),
    Column("auto_profile", Boolean, nullable=False, server_default=text("true")),
    _now_column("updated_at"),
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
    _now_column("created_at"),
    UniqueConstraint("turn_id", "seq"),
    Index("ix_replies_delivered_at", "delivered_at"),
)

retired_workspaces = Table(
    "retired_workspaces",
    metadata,
    Column("team_id", String(32), primary_key=True),
    _now_column("retired_at"),
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
    _now_column("installed_at"),
)

# OAuth `state` values handed to installers' browsers: each is good once, until it expires.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state", String(200), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False),
)
