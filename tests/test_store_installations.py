"""Store contract for OAuth: installations per workspace, one-time states, and the turns of a
workspace the app left (the same tests on SQLite and on a real PostgreSQL server)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from bot.core.records import Installation
from bot.core.turns import ThreadKey, Turn
from store import Store

INSTALL = Installation(
    team_id="T1",
    team_name="Acme",
    enterprise_id=None,
    app_id="A1",
    bot_user_id="UB1",
    bot_id="BB1",
    bot_token="xoxb-1-secret",
    bot_scopes="chat:write,files:read",
    installer_user_id="U1",
    installed_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
)


async def test_an_install_is_found_replaced_and_deleted(store: Store) -> None:
    await store.installations.save(INSTALL)
    await store.installations.save(replace(INSTALL, team_id="T2", bot_token="xoxb-2"))
    reinstall = replace(INSTALL, bot_token="xoxb-1-new", team_name="Acme Inc")
    await store.installations.save(reinstall)

    assert await store.installations.find("T1") == reinstall
    assert (await store.installations.find("T2")).bot_token == "xoxb-2"  # type: ignore[union-attr]
    assert await store.installations.delete("T1") is True
    assert await store.installations.delete("T1") is False
    assert await store.installations.find("T1") is None
    assert "xoxb" not in repr(reinstall)


async def test_a_state_is_good_once_and_only_until_it_expires(store: Store) -> None:
    await store.installations.issue_state("s-good", ttl_s=600)
    await store.installations.issue_state("s-stale", ttl_s=-1)
    await store.installations.issue_state("s-raced", ttl_s=600)

    raced = await asyncio.gather(*(store.installations.consume_state("s-raced") for _ in range(5)))

    assert await store.installations.consume_state("s-good") is True
    assert await store.installations.consume_state("s-good") is False  # replayed
    assert await store.installations.consume_state("s-stale") is False
    assert await store.installations.consume_state("never-issued") is False
    assert sorted(raced) == [False] * 4 + [True]


async def test_stopping_a_workspace_cancels_its_queue_and_asks_to_stop_its_running_turns(
    store: Store,
) -> None:
    gone, stays = ThreadKey("T1", "C1", "1.0"), ThreadKey("T2", "C1", "1.0")
    for key in (gone, stays):
        await store.turns.add(Turn(key=key, message_ts="1.0", user_id="U1", text="first"))
        await store.turns.add(Turn(key=key, message_ts="1.1", user_id="U1", text="queued"))
    running = {t.turn.key.team_id: t.id for t in await store.turns.claim("w", limit=9, lease_s=30)}

    stopping = await store.turns.stop_workspace("T1", by="<uninstalled>")

    queued = await store.turns.find("T1", "C1", "1.1")
    assert stopping == [running["T1"]]
    assert queued is not None
    assert (queued.status, queued.error_code) == ("cancelled", "uninstalled")
    assert await store.turns.cancel_requests("w") == {running["T1"]: "<uninstalled>"}
    assert [t.turn.key for t in await store.turns.claim("w2", limit=9, lease_s=30)] == []
    other = await store.turns.find("T2", "C1", "1.1")
    assert other is not None
    assert other.status == "queued"


async def test_turns_of_a_retired_workspace_are_not_claimed_until_it_is_back(store: Store) -> None:
    late = Turn(key=ThreadKey("T1", "C1", "2.0"), message_ts="2.0", user_id="U1", text="late")
    await store.retired.retire("T1")
    await store.turns.add(late)  # recorded as the app left
    await store.turns.add(
        Turn(key=ThreadKey("T2", "C1", "2.0"), message_ts="2.0", user_id="U1", text="x")
    )

    claimed = await store.turns.claim("w", limit=9, lease_s=30)
    await store.retired.forget("T1")
    after = await store.turns.claim("w", limit=9, lease_s=30)

    assert [t.turn.key.team_id for t in claimed] == ["T2"]
    assert [t.turn.text for t in after] == ["late"]
