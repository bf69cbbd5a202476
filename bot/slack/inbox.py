"""Events recorded before they are acknowledged: nothing Slack was told 200 for is lost.

Slack delivers an event until it gets a 200, and never after. The front door answers at once
(Slack waits 3 s) and handles the event afterwards, so a replica killed in between would lose
it: the question it carried would never be answered. So each Events API delivery is recorded
in the store (`store.events`) before the 200 and deleted once it is settled: Bolt dispatched
it and the listener it started has ended. While the process handles it, its lease is renewed;
a delivery whose process died is claimed by any replica once the lease lapses, and handled
again (which is safe: the store keeps one turn per Slack message). A delivery whose listener
failed is handed back and tried again later, up to `max_attempts` in all.

A `Settlement` rides in the Bolt request's context: the listener middleware of `handlers`
counts the listener Bolt starts, and the listener's end settles the delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

SETTLEMENT = "analyst_settlement"
"""The Bolt context key of a delivery's `Settlement`."""
MAX_ATTEMPTS = 3
_EVENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_TEAM_ID = re.compile(r"[A-Z0-9]{1,32}")


class Received(Protocol):
    """A delivery claimed again (`store.events.ReceivedEvent`)."""

    @property
    def id(self) -> int: ...

    @property
    def key(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...

    @property
    def attempts(self) -> int: ...


class EventLog(Protocol):
    """Where deliveries are recorded (`store.events.ReceivedEvents`)."""

    async def record(
        self,
        events: Sequence[tuple[str, Mapping[str, Any], str | None]],
        *,
        owner: str,
        lease_s: float,
    ) -> dict[str, int]: ...

    async def settle(self, ids: Sequence[int]) -> None: ...

    async def release(self, ids: Sequence[int], *, retry_in_s: float) -> None: ...

    async def renew(self, owner: str, *, lease_s: float) -> int: ...

    async def claim_expired(
        self, owner: str, *, limit: int, lease_s: float
    ) -> Sequence[Received]: ...


@dataclass(frozen=True)
class _Pending:
    """A delivery waiting to be recorded with the others that arrived with it."""

    key: str
    body: dict[str, Any]
    team_id: str | None
    result: asyncio.Future[Delivery | None]


@dataclass(frozen=True)
class Delivery:
    """A recorded delivery this process handles."""

    id: int
    key: str


class Settlement:
    """One delivery handed to Bolt: settled (`done(ok)`) once the dispatch and the listener
    it started (if any) have ended; not ok if either failed."""

    def __init__(self, done: Callable[[bool], None]) -> None:
        self._done = done
        self._open = 1  # the dispatch itself
        self._ok = True

    def expect(self) -> None:
        """A listener is about to run for this delivery."""
        self._open += 1

    def end(self, *, ok: bool) -> None:
        """The dispatch, or a listener, ended."""
        self._ok = self._ok and ok
        self._open -= 1
        if self._open == 0:
            self._done(self._ok)


def settlement_of(context: Mapping[str, Any]) -> Settlement | None:
    """The settlement riding in a Bolt context (none: Socket Mode, or no inbox)."""
    found = context.get(SETTLEMENT)
    return found if isinstance(found, Settlement) else None


def event_key(body: Mapping[str, Any]) -> str:
    """Slack's `event_id`; for a delivery without one, a digest of its content."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id):
        return event_id
    content = json.dumps(body, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(content).hexdigest()


class EventInbox:
    """This process's side of `store.events`: records deliveries, settles them, renews their
    leases and takes over the deliveries of processes that died (`recover`)."""

    def __init__(
        self,
        log: EventLog,
        *,
        owner: str,
        lease_s: float,
        max_attempts: int = MAX_ATTEMPTS,
        on_recovered: Callable[[], None] = lambda: None,
    ) -> None:
        self._log = log
        self._owner = owner
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._on_recovered = on_recovered
        self._settled: list[int] = []
        self._failed: list[int] = []
        self._writer: asyncio.Task[None] | None = None
        self._to_record: list[_Pending] = []
        self._recorder: asyncio.Task[None] | None = None

    async def record(self, body: Mapping[str, Any]) -> Delivery | None:
        """Record a delivery before it is acknowledged; None for a copy of an event already
        recorded (a retry, or the same delivery on another replica). Raises if the store
        cannot record it.

        Deliveries arriving together are recorded together, in one transaction: a burst of
        events is acknowledged after a few writes, not one write each."""
        team = body.get("team_id")
        pending = _Pending(
            event_key(body),
            {name: value for name, value in body.items() if name != "token"},
            team if isinstance(team, str) and _TEAM_ID.fullmatch(team) else None,
            asyncio.get_running_loop().create_future(),
        )
        self._to_record.append(pending)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_batches())
        return await pending.result

    def settlement(self, delivery: Delivery) -> Settlement:
        """What settles `delivery` once Bolt handled it."""
        return Settlement(lambda ok: self._ended(delivery, ok))

    async def recover(self, redeliver: Callable[[Mapping[str, Any], Delivery], None]) -> None:
        """Keep this process's leases and hand `redeliver` the deliveries of processes that
        died, every third of a lease, until cancelled."""
        while True:
            try:
                await self._log.renew(self._owner, lease_s=self._lease_s)
                for event in await self._log.claim_expired(
                    self._owner, limit=50, lease_s=self._lease_s
                ):
                    self._take_over(event, redeliver)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the store may be briefly away: try again next round
                logger.warning("could not look after received events (%s)", type(error).__name__)
            await asyncio.sleep(self._lease_s / 3)

    async def flush(self, within_s: float = 5.0) -> None:
        """Wait (on shutdown, up to `within_s`: the store may be gone) until every delivery
        received is recorded and every settled one written. What is left then is handled
        again by another replica."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                for task in (self._recorder, self._writer):
                    if task is not None:
                        await asyncio.gather(task, return_exceptions=True)
                while self._writer is not None and not self._writer.done():
                    await asyncio.gather(self._writer, return_exceptions=True)

    async def _record_batches(self) -> None:
        while self._to_record:
            batch, self._to_record = self._to_record, []
            first = {p.key: p for p in reversed(batch)}  # copies in one batch: one record
            try:
                ids = await self._log.record(
                    [(p.key, p.body, p.team_id) for p in first.values()],
                    owner=self._owner,
                    lease_s=self._lease_s,
                )
            except Exception as error:
                for pending in batch:
                    if not pending.result.done():
                        pending.result.set_exception(error)
                continue
            for pending in batch:
                row_id = ids.get(pending.key) if first[pending.key] is pending else None
                if not pending.result.done():
                    pending.result.set_result(
                        None if row_id is None else Delivery(row_id, pending.key)
                    )
                elif row_id is not None:  # its 200 did not wait: the front door handles it
                    self._ended(Delivery(row_id, pending.key), True)

    def _take_over(
        self, event: Received, redeliver: Callable[[Mapping[str, Any], Delivery], None]
    ) -> None:
        delivery = Delivery(event.id, event.key)
        if event.attempts > self._max_attempts:
            logger.error(
                "dropped event %s: its handling failed %d times", event.key, event.attempts - 1
            )
            self._ended(delivery, True)
            return
        logger.info("handling event %s again (attempt %d)", event.key, event.attempts)
        self._on_recovered()
        redeliver(event.body, delivery)

    def _ended(self, delivery: Delivery, ok: bool) -> None:
        (self._settled if ok else self._failed).append(delivery.id)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Write what was settled, in batches (one statement for everything that ended while
        the previous one ran); a store error is retried."""
        while self._settled or self._failed:
            settled, self._settled = self._settled, []
            failed, self._failed = self._failed, []
            try:
                await self._log.settle(settled)
                await self._log.release(failed, retry_in_s=self._lease_s)
            except Exception as error:
                logger.warning("could not settle received events (%s)", type(error).__name__)
                self._settled[:0], self._failed[:0] = settled, failed
                await asyncio.sleep(1.0)
