"""Store contract: parked replies and the turns they become (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from bot.core.turns import ThreadKey, Turn
from store import Store, open_store


def _pair(i: int) -> tuple[Turn, Turn]:
    key = ThreadKey("T1", "C1", f"{1_700_000_000 + i}.000100")
    mention = Turn(key=key, message_ts=key.thread_ts, user_id="U1", text="question")
    reply = Turn(
        key=key,
        message_ts=f"{1_700_000_000 + i}.000200",
        user_id="U2",
        text="follow-up",
        source="message",
    )
    return mention, reply


async def _ids(store: Store, *turns: Turn) -> list[int | None]:
    found = [await store.turns.find("T1", "C1", t.message_ts) for t in turns]
    return [f.id if f else None for f in found]


async def test_a_reply_parked_while_its_mention_is_recorded_elsewhere_follows_it(
    database_url: str,
) -> None:
    """Two stores on separate engines, as two replicas: whichever commits first, the reply
    becomes exactly one turn, queued after its mention."""
    async with open_store(database_url) as one, open_store(database_url) as two:
        for i in range(20):
            mention, reply = _pair(i)
            parking = two.turns.park(reply), two.turns.park(reply)  # a retry, too
            await asyncio.gather(one.turns.add(mention), *parking)
            asked, followed = await _ids(one, mention, reply)
            assert asked is not None, i
            assert followed is not None, i
            assert asked < followed
            stored = await one.turns.get(asked)
            assert stored is not None
            assert len(await one.turns.of_thread(stored.thread_id)) == 2


async def test_chatter_older_than_the_first_turn_never_becomes_one(store: Store) -> None:
    mention, reply = _pair(0)
    chatter = Turn(
        key=mention.key, message_ts="1700000000.000050", user_id="U3", text="hm", source="message"
    )
    assert await store.turns.park(chatter) == []
    assert await store.turns.park(reply) == []  # no mention yet: waits
    await store.turns.add(mention)
    assert (await _ids(store, chatter))[0] is None
    assert (await _ids(store, reply))[0] is not None
    assert await store.turns.park(chatter) == []  # a late retry of the chatter: still not


async def test_a_reply_parked_longer_than_the_window_is_dropped(database_url: str) -> None:
    async with open_store(database_url, park_window_s=0.0) as store:
        mention, reply = _pair(0)
        assert await store.turns.park(reply) == []
        await store.turns.add(mention)
        assert (await _ids(store, reply))[0] is None
