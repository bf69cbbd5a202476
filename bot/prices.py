"""The price table cost estimates use: built-in prices, and `ANALYST_PRICES` over them.

Built-in prices are USD, standard tier, as OpenAI published them for the Responses API;
`reference/openai.md` documents the container price only, so the others are taken from
pydantic/genai-prices (`prices/providers/openai.yml`, snapshot of 2026-08-21: GPT-5.5 checked
2026-04-24, GPT-5.6 2026-08-02, after the 2026-07-30 price cuts), which agrees with third-party
copies of OpenAI's pricing page (June 2026), and the file-search call price from a copy of that
page (modelcostwatch.com, checked 2026-03-12). Not modelled: the long-context tier (requests
over 272K input tokens cost 2× input, 1.5× output on GPT-5.4/5.6), GPT-5.6's cache writes
(1.25× input), Batch/Flex/Priority tiers, regional processing uplifts, and vector-store storage
($0.10 per GB-day past the first GB, a standing charge of no single turn).

The file (YAML or JSON) adds models or replaces prices; every problem is reported at start-up:

    models:                       # USD per 1M tokens
      gpt-5.5: {input: 5.00, cached_input: 0.50, output: 30.00}
      my-azure-deployment: {input: 2.50, cached_input: 0.25, output: 15.00}
    container_session: 0.03       # USD per code-interpreter container (1 GB)
    file_search_call: 0.0025      # USD per file_search call
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from bot.core.usage import ModelPrice, PriceTable

# USD per 1M tokens: input, cached input, output (reasoning tokens are output). A "pro" model
# has no cached-input discount. Dated snapshots (`gpt-5.5-2026-04-23`) use their alias's price.
MODEL_PRICES: dict[str, ModelPrice] = {
    "gpt-5.6": ModelPrice(5.00, 0.50, 30.00),  # = gpt-5.6-sol
    "gpt-5.6-sol": ModelPrice(5.00, 0.50, 30.00),
    "gpt-5.6-terra": ModelPrice(2.00, 0.20, 12.00),
    "gpt-5.6-luna": ModelPrice(0.20, 0.02, 1.20),
    "gpt-5.5": ModelPrice(5.00, 0.50, 30.00),  # ANALYST_MODEL's default
    "gpt-5.5-pro": ModelPrice(30.00, 30.00, 180.00),
    "gpt-5.4": ModelPrice(2.50, 0.25, 15.00),
    "gpt-5.4-mini": ModelPrice(0.75, 0.075, 4.50),
    "gpt-5.4-nano": ModelPrice(0.20, 0.02, 1.25),
    "gpt-5.4-pro": ModelPrice(30.00, 30.00, 180.00),
    "gpt-5.2": ModelPrice(1.75, 0.175, 14.00),
    "gpt-5.1": ModelPrice(1.25, 0.125, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 0.025, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.005, 0.40),
}
# reference/openai.md §3.2 (D-PRICE): 1 GB $0.03 per 20-minute session, billed by the minute
# with a 5-minute minimum. The bot's containers are 1 GB (the default); a container that stays
# busy past 20 minutes costs more than this one session.
CONTAINER_SESSION_USD = 0.03
FILE_SEARCH_CALL_USD = 2.50 / 1000  # $2.50 per 1,000 calls (Responses API)
FIELDS = ("input", "cached_input", "output")
TOP_LEVEL = ("models", "container_session", "file_search_call")


def default_prices() -> PriceTable:
    return PriceTable(dict(MODEL_PRICES), CONTAINER_SESSION_USD, FILE_SEARCH_CALL_USD)


def load_prices(path: str) -> tuple[PriceTable, list[str]]:
    """The built-in table with the file's prices over it, and every problem found (use the
    table only when there are none)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        return default_prices(), [f"cannot read {path}: {error.strerror or error}"]
    except yaml.YAMLError as error:
        return default_prices(), [f"{path} is not valid YAML or JSON: {error}"]
    problems: list[str] = []
    if not isinstance(data, dict):
        return default_prices(), [f"{path}: expected a mapping with {', '.join(TOP_LEVEL)}"]
    unknown = sorted(str(key) for key in data if key not in TOP_LEVEL)
    if unknown:
        problems.append(f"unknown keys {unknown} (expected {', '.join(TOP_LEVEL)})")
    models = dict(MODEL_PRICES)
    models.update(_models(data.get("models") or {}, problems))
    table = PriceTable(
        models,
        _usd(data.get("container_session", CONTAINER_SESSION_USD), "container_session", problems),
        _usd(data.get("file_search_call", FILE_SEARCH_CALL_USD), "file_search_call", problems),
    )
    return table, problems


def _models(raw: Any, problems: list[str]) -> dict[str, ModelPrice]:
    if not isinstance(raw, dict):
        problems.append("models: expected a mapping of model names to prices")
        return {}
    found: dict[str, ModelPrice] = {}
    for name, entry in raw.items():
        where = f"models.{name}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected {{input, cached_input, output}} in USD per 1M")
            continue
        extra = sorted(str(key) for key in entry if key not in FIELDS)
        missing = [f for f in ("input", "output") if f not in entry]
        if extra or missing:
            problems.append(
                f"{where}: needs input and output (and cached_input); got {sorted(entry)}"
            )
            continue
        input_usd = _usd(entry["input"], f"{where}.input", problems)
        cached = _usd(entry.get("cached_input", entry["input"]), f"{where}.cached_input", problems)
        found[str(name)] = ModelPrice(
            input_usd, cached, _usd(entry["output"], f"{where}.output", problems)
        )
    return found


def _usd(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{where}: {value!r} is not a price in USD")
        return 0.0
    if value < 0:
        problems.append(f"{where}: a price cannot be negative")
    return float(value)
