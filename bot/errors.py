"""The exceptions the bot raises on purpose.

    AnalystError
    ├── ConfigError               bad settings at start-up; lists every problem
    ├── ProfileError              a dropped file can't be profiled (bot.profile)
    └── TurnError                 a turn cannot be answered; the user is told `code`'s message
        ├── FileError             a shared file cannot be used
        │   ├── UnsupportedFile       type we do not analyse
        │   ├── FileTooLarge          over ANALYST_MAX_FILE_MB (checked before download)
        │   ├── FileNotDownloadable   HTML page / 403 / host not allowed / Slack error
        │   ├── EmptyFile             zero bytes
        │   └── PythonOff             a data file, in a channel whose analyst has Python off
        ├── BudgetReached         a spending budget is used up: refused before any OpenAI call
        │   ├── UserBudgetReached       ANALYST_USER_DAILY_USD, for the asker, today
        │   ├── ChannelBudgetReached    ANALYST_CHANNEL_MONTHLY_USD, this month
        │   └── WorkspaceBudgetReached  ANALYST_WORKSPACE_MONTHLY_USD, this month
        ├── EngineError           OpenAI could not produce an answer
        │   ├── EngineAuthError       invalid API key / permission
        │   ├── QuotaExceeded         credit or quota exhausted
        │   ├── RateLimited           still rate limited after a bounded wait
        │   ├── ContentRefused        refusal or content filter
        │   ├── OutputIncomplete      stopped early (max output tokens)
        │   ├── ContainerExpired      the container died; the service retries once
        │   ├── SearchIndexGone       the thread's vector store expired or was deleted
        │   ├── StreamDropped         the connection broke mid-answer
        │   ├── EngineTimeout         no progress within the timeout
        │   └── EngineFailed          the response failed for another reason
        │       └── ServiceUnavailable    OpenAI server error (5xx) after the retries
        │           └── ServiceOverloaded     503/529 or an "overloaded" error code
        └── TurnCancelled         somebody pressed Cancel

Anything else reaching the service is an internal error: the user gets a generic apology with
a short reference id that is also logged. Messages shown to users live in `bot.wording`;
exceptions only carry a code and the facts the message needs, never raw vendor text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class AnalystError(Exception):
    """Base of every exception raised on purpose by Slack Analyst."""


class ConfigError(AnalystError):
    """Start-up configuration is missing or invalid."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))

    def render(self) -> str:
        lines = ["Slack Analyst cannot start; fix these settings (environment or .env):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class ProfileError(AnalystError):
    """The file can't be profiled; `reason` is a short user-facing phrase ("is empty")."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TurnError(AnalystError):
    """A turn cannot be answered; `code` selects the user-facing message in `bot.wording`."""

    code: ClassVar[str] = "internal"

    def __init__(self, detail: str = "", **facts: str | int | float) -> None:
        # `detail` is for logs only; `facts` fill the user-facing message.
        self.detail = detail
        self.facts = facts
        super().__init__(detail or self.code)


class FileError(TurnError):
    code = "file_error"


class UnsupportedFile(FileError):
    code = "file_unsupported"


class FileTooLarge(FileError):
    code = "file_too_large"


class FileNotDownloadable(FileError):
    code = "file_not_downloadable"


class EmptyFile(FileError):
    code = "file_empty"


class PythonOff(FileError):
    """The channel's analyst has the code interpreter off, so a data file can't be analysed."""

    code = "python_off"


class BudgetReached(TurnError):
    """A budget is used up; the facts say how much, and when it resets."""

    code = "budget_reached"


class UserBudgetReached(BudgetReached):
    code = "budget_user_daily"


class ChannelBudgetReached(BudgetReached):
    code = "budget_channel_monthly"


class WorkspaceBudgetReached(BudgetReached):
    code = "budget_workspace_monthly"


class EngineError(TurnError):
    code = "engine_failed"


class EngineAuthError(EngineError):
    code = "engine_auth"


class QuotaExceeded(EngineError):
    code = "engine_quota"


class RateLimited(EngineError):
    code = "engine_rate_limited"


class ContentRefused(EngineError):
    code = "engine_refused"


class OutputIncomplete(EngineError):
    code = "engine_incomplete"


class ContainerExpired(EngineError):
    code = "engine_container_expired"


class SearchIndexGone(EngineError):
    """The thread's vector store expired (after its idle days) or was deleted: the documents
    are indexed again in a new one."""

    code = "engine_search_index_gone"


class StreamDropped(EngineError):
    code = "engine_stream_dropped"


class EngineTimeout(EngineError):
    code = "engine_timeout"


class EngineFailed(EngineError):
    code = "engine_failed"


class ServiceUnavailable(EngineFailed):
    """OpenAI answered with a server error (5xx, `server_error`); asking again later helps."""

    code = "engine_unavailable"


class ServiceOverloaded(ServiceUnavailable):
    """OpenAI says it is overloaded (503, 529, `server_is_overloaded`…)."""

    code = "engine_overloaded"


class TurnCancelled(TurnError):
    code = "cancelled"
