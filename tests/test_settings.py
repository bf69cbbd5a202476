"""Settings: validated once, every problem named in one error, secrets never shown."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from bot.errors import ConfigError
from bot.settings import Settings
from tests.conftest import REPO

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-123-456-abc",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "OPENAI_API_KEY": "sk-test-secret-key",
}


def test_valid_http_settings() -> None:
    settings = Settings.from_env(VALID)
    assert settings.mode == "http"
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slack_file_hosts == ("files.slack.com", "files-origin.slack.com")
    assert settings.slack_file_redirect_hosts == ("*.slack-edge.com",)
    assert settings.slack_rate_scale == 1.0
    assert settings.database_url.startswith("sqlite:///")
    assert settings.max_file_bytes == 100 * 1024 * 1024


def test_app_token_selects_socket_mode() -> None:
    settings = Settings.from_env({**VALID, "SLACK_APP_TOKEN": "xapp-1-abc"})
    assert settings.mode == "socket"


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    message = caught.value.render()
    for name in ("SLACK_BOT_TOKEN", "OPENAI_API_KEY", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert name in message


def test_invalid_values_are_all_reported() -> None:
    env = {
        **VALID,
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "PORT": "eighty",
        "ANALYST_MAX_FILE_MB": "9000",
        "SLACK_API_URL": "http://slack.example.com/api/",
        "DATABASE_URL": "mysql://x",
        "LOG_LEVEL": "loud",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    names = {p.split(":")[0] for p in caught.value.problems}
    assert names == {
        "SLACK_API_URL",
        "DATABASE_URL",
        "ANALYST_MAX_FILE_MB",
        "LOG_LEVEL",
        "SLACK_BOT_TOKEN",
        "PORT",
    }


def test_a_bot_token_and_oauth_credentials_together_are_refused() -> None:
    """Bolt would silently ignore the token: one workspace or OAuth installs, not both."""
    env = {**VALID, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}
    with pytest.raises(ConfigError, match="SLACK_CLIENT_ID") as caught:
        Settings.from_env(env)
    assert "not both" in caught.value.render()


OAUTH = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret-value",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "OPENAI_API_KEY": "sk-test-secret-key",
}


def test_client_id_and_secret_without_a_token_install_through_oauth() -> None:
    settings = Settings.from_env(
        {**OAUTH, "SLACK_REDIRECT_URI": "https://analyst.example.com/slack/oauth_redirect"}
    )
    assert settings.oauth
    assert settings.mode == "http"
    assert settings.slack_bot_token is None
    assert settings.slack_client_id == "1111.2222"
    assert settings.slack_redirect_uri == "https://analyst.example.com/slack/oauth_redirect"
    assert settings.slack_authorize_url == "https://slack.com/oauth/v2/authorize"
    assert "client-secret-value" not in repr(settings)
    assert not Settings.from_env(VALID).oauth
    local = Settings.from_env({**OAUTH, "SLACK_API_URL": "http://127.0.0.1:8001/api/"})
    assert local.slack_authorize_url == "http://127.0.0.1:8001/oauth/v2/authorize"


def test_oauth_problems_are_named_together() -> None:
    env = {
        "SLACK_CLIENT_ID": "not-an-id",
        "SLACK_APP_TOKEN": "xapp-1-abc",
        "SLACK_REDIRECT_URI": "https://analyst.example.com/wrong/path",
        "OPENAI_API_KEY": "sk-x",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    names = [p.split(":")[0] for p in caught.value.problems]
    assert names == [
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_REDIRECT_URI",
    ]
    assert "HTTP mode" in caught.value.render()


def test_secrets_never_appear_in_repr() -> None:
    settings = Settings.from_env({**VALID, "SLACK_APP_TOKEN": "xapp-1-very-secret"})
    text = repr(settings) + str(settings)
    for secret in (
        "xoxb-123-456-abc",
        "signing-secret-value",
        "sk-test-secret-key",
        "xapp-1-very-secret",
    ):
        assert secret not in text
    assert settings.openai_api_key.reveal() == "sk-test-secret-key"


def test_file_hosts_and_loopback_urls() -> None:
    settings = Settings.from_env(
        {
            **VALID,
            "SLACK_FILE_HOSTS": "files.slack.com, 127.0.0.1:18080",
            "SLACK_API_URL": "http://127.0.0.1:18080/api",
            "OPENAI_BASE_URL": "http://localhost:9000/v1",
        }
    )
    assert settings.slack_file_hosts == ("files.slack.com", "127.0.0.1:18080")
    assert settings.slack_api_url == "http://127.0.0.1:18080/api/"
    assert settings.openai_base_url == "http://localhost:9000/v1"


def test_terminal_mode_needs_only_the_openai_key() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-x"}, terminal=True)
    assert settings.mode == "terminal"
    assert settings.slack_bot_token is None
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Settings.from_env({}, terminal=True)


async def test_python_m_bot_without_configuration_fails_with_one_clear_error(tmp_path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    text = stderr.decode()
    assert process.returncode == 2
    assert "Traceback" not in text
    for name in ("SLACK_BOT_TOKEN", "OPENAI_API_KEY", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert name in text
    assert text.count("cannot start") == 1


def test_retention_settings() -> None:
    default = Settings.from_env(VALID)
    assert (default.retention_days, default.retention_interval_s) == (30, 3600.0)
    cleanup = Settings.from_env(
        {"OPENAI_API_KEY": "sk-x", "ANALYST_RETENTION_DAYS": "90"}, terminal=True
    )
    assert cleanup.retention_days == 90  # `cleanup` needs no Slack settings
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {**VALID, "ANALYST_RETENTION_DAYS": "0", "ANALYST_RETENTION_INTERVAL_S": "soon"}
        )
    assert {p.split(":")[0] for p in caught.value.problems} == {
        "ANALYST_RETENTION_DAYS",
        "ANALYST_RETENTION_INTERVAL_S",
    }
