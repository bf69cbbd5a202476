"""The pure rules behind what it costs: prices (built in and from a file), the settings, the
estimate, budget periods, the Home view's size, and the usage a failed stream reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.events import Finished, ResponseStarted, TextDelta, UsageReported
from bot.core.home import HomeFigures, WorkspaceFigures
from bot.core.records import UsageTotals
from bot.core.rounds import TurnRecord
from bot.core.turns import ThreadKey, Turn, UserInfo
from bot.core.usage import Budgets, ModelPrice, PriceTable, day_of, measure, month_of, periods
from bot.engine.stream import StreamState, read_stream
from bot.errors import ConfigError, EngineFailed
from bot.prices import MODEL_PRICES, default_prices, load_prices
from bot.settings import DEFAULT_MODEL, Settings
from bot.slack.home_tab import home_view
from tests.fakes.slack_home import home_problems

TURN = Turn(key=ThreadKey("T1", "C1", "1.0"), message_ts="1.0", user_id="U1", text="q")
ENV = {
    "OPENAI_API_KEY": "sk-test",
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "secret",
}


def test_the_default_model_and_the_current_ones_have_built_in_prices() -> None:
    prices = default_prices()
    assert prices.for_model(DEFAULT_MODEL) == ModelPrice(5.00, 0.50, 30.00)
    assert prices.for_model("gpt-5.5-2026-04-23") == prices.for_model("gpt-5.5")  # snapshots
    assert prices.for_model("gpt-5.6") == prices.for_model("gpt-5.6-sol")
    assert prices.for_model("some-azure-deployment") is None
    assert (prices.container_session, prices.file_search_call) == (0.03, 0.0025)
    for price in MODEL_PRICES.values():
        assert 0 < price.cached_input <= price.input < price.output


def test_a_price_file_adds_and_replaces_prices(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "models": {
                    "my-deployment": {"input": 1, "cached_input": 0.1, "output": 4},
                    "gpt-5.5": {"input": 4, "output": 24},  # no cache discount given
                },
                "container_session": 0.12,
            }
        )
    )
    prices, problems = load_prices(str(path))
    assert problems == []
    assert prices.for_model("my-deployment") == ModelPrice(1.0, 0.1, 4.0)
    assert prices.for_model("gpt-5.5") == ModelPrice(4.0, 4.0, 24.0)
    assert prices.for_model("gpt-5.4") == MODEL_PRICES["gpt-5.4"]  # the rest stay
    assert (prices.container_session, prices.file_search_call) == (0.12, 0.0025)


def test_every_problem_in_a_price_file_is_reported_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "prices.yml"
    path.write_text(
        "models:\n"
        "  a: {input: -1, output: 2}\n"
        "  b: {input: 1}\n"
        "  c: 3\n"
        "  d: {input: cheap, output: 2}\n"
        "file_search_call: free\n"
        "containers: 1\n"
    )
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**ENV, "ANALYST_PRICES": str(path)})
    text = raised.value.render()
    for expected in (
        "ANALYST_PRICES: models.a.input: a price cannot be negative",
        "ANALYST_PRICES: models.b: needs input and output",
        "ANALYST_PRICES: models.c: expected {input, cached_input, output}",
        "ANALYST_PRICES: models.d.input: 'cheap' is not a price in USD",
        "ANALYST_PRICES: file_search_call: 'free' is not a price in USD",
        "ANALYST_PRICES: unknown keys ['containers']",
    ):
        assert expected in text, expected
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.from_env({**ENV, "ANALYST_PRICES": str(tmp_path / "missing.yml")})


def test_budgets_and_admins_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            **ENV,
            "ANALYST_USER_DAILY_USD": "5",
            "ANALYST_CHANNEL_MONTHLY_USD": "$1,200.50",
            "ANALYST_ADMINS": "U0ALICE, W0BOB",
        }
    )
    assert settings.budgets == Budgets(user_daily=5.0, channel_monthly=1200.5)
    assert settings.admins == {"U0ALICE", "W0BOB"}
    assert not Settings.from_env(ENV).budgets  # empty: no budget at all
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                **ENV,
                "ANALYST_USER_DAILY_USD": "five",
                "ANALYST_WORKSPACE_MONTHLY_USD": "-3",
                "ANALYST_ADMINS": "alice",
            }
        )
    text = raised.value.render()
    assert "ANALYST_USER_DAILY_USD: 'five' is not an amount in USD" in text
    assert "ANALYST_WORKSPACE_MONTHLY_USD: must be an amount of 0 or more USD" in text
    assert "ANALYST_ADMINS: 'alice' not user ids" in text


def test_a_turn_is_priced_as_openai_bills_it() -> None:
    record = TurnRecord(responses=2, metered=2, searches=3)
    record.containers.add("cntr_1")
    record.usage = {
        "input_tokens": 10_000,
        "input_tokens_details": {"cached_tokens": 4_000},
        "output_tokens": 2_000,
        "output_tokens_details": {"reasoning_tokens": 500},
    }
    prices = PriceTable({"m": ModelPrice(2.0, 0.5, 10.0)}, 0.03, 0.0025)
    usage = measure(TURN, 9, record, model="m", prices=prices)
    assert usage is not None
    assert (usage.input_tokens, usage.cached_input_tokens) == (10_000, 4_000)
    assert (usage.output_tokens, usage.reasoning_tokens) == (2_000, 500)
    # 6,000 fresh × $2 + 4,000 cached × $0.5 + 2,000 output (reasoning in it) × $10, per 1M
    assert usage.cost_usd == pytest.approx(0.012 + 0.002 + 0.02 + 0.03 + 3 * 0.0025)
    assert measure(TURN, 9, record, model="other", prices=prices).cost_usd is None  # type: ignore[union-attr]
    assert measure(TURN, 9, TurnRecord(), model="m", prices=prices) is None  # reached nothing


def test_a_turn_whose_responses_reported_nothing_has_unknown_tokens() -> None:
    record = TurnRecord(responses=1)
    usage = measure(TURN, 1, record, model="m", prices=PriceTable({"m": ModelPrice(1, 1, 1)}))
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.unmetered) == (None, None, 1)
    assert usage.cost_usd == 0.0  # only what is known: no container, no search


def test_a_persons_day_is_theirs_and_a_month_is_utc() -> None:
    now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # Europe/Paris moves to summer time
    assert day_of(now, ZoneInfo("Europe/Paris")) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # a 23-hour day
    )
    assert month_of(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    found = periods(Budgets(1, 2, 3), TURN, timezone="Asia/Tokyo", now=now)
    assert [(p.kind, p.subject, p.zone) for p in found] == [
        ("user_daily", "U1", "Asia/Tokyo"),
        ("channel_monthly", "C1", "UTC"),
        ("workspace_monthly", "T1", "UTC"),
    ]
    [unknown_zone] = periods(Budgets(user_daily=1), TURN, timezone="Mars/Olympus", now=now)
    assert unknown_zone.zone == "UTC"


def test_the_home_view_stays_within_slacks_limits_however_many_channels() -> None:
    now = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)
    rows = [UsageTotals("T1", f"C{i:08d}", turns=i, cost_usd=1000.0 + i) for i in range(500)]
    figures = HomeFigures(
        viewer=UserInfo("U1", "dana", "Europe/Paris", is_admin=True),
        today=UsageTotals("T1", "U1", turns=3, cost_usd=1.5),
        month=UsageTotals("T1", "U1", turns=30, cost_usd=15.0, unknown=2),
        daily_limit=5.0,
        day_resets=now,
        zone="Europe/Paris",
        now=now,
        workspace=WorkspaceFigures(
            month=UsageTotals("T1", None, turns=999, cost_usd=123456.0, unknown=4),
            limit=100_000.0,
            channels=rows[:15],
            more_channels=485,
            channel_limit=5000.0,
            users=rows[:10],
            more_users=490,
        ),
    )
    view = home_view(figures)
    assert home_problems(view) == []
    assert len(view["blocks"]) <= 12
    assert len(json.dumps(view)) < 250_000


async def test_a_failed_response_reports_its_usage_before_the_error() -> None:
    usage = {"input_tokens": 100, "output_tokens": 7}
    response = {"id": "resp_1", "created_at": 1, "usage": None}
    batches = [
        [{"type": "response.created", "response": response}],
        [{"type": "response.output_text.delta", "delta": "Par", "output_index": 0}],
        [
            {
                "type": "response.failed",
                "response": response | {"usage": usage, "error": {"code": "server_error"}},
            }
        ],
    ]

    async def feed():
        for batch in batches:
            yield batch

    seen = []

    async def read() -> None:
        async for event in read_stream(feed(), StreamState()):
            seen.append(event)

    with pytest.raises(EngineFailed):
        await read()
    assert seen == [
        ResponseStarted("resp_1", 1.0),
        TextDelta("Par"),
        UsageReported("resp_1", usage),
    ]
    assert not any(isinstance(e, Finished) for e in seen)
