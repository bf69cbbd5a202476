"""Structured concurrency for the pipeline: run awaitables together, all or none.

`asyncio.gather` leaves siblings running when one fails (an upload goes on after its
neighbour's download was refused; a container is created for a turn that already failed).
`run_all` runs them in a `TaskGroup`, so the first failure cancels the rest and nothing
outlives the call, and re-raises that failure itself rather than an `ExceptionGroup`, so
callers keep catching the bot's own errors (`FileError`, `EngineError`…).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar

T = TypeVar("T")


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """`asyncio.TaskGroup` that raises its first failure instead of an `ExceptionGroup`."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        raise _first(failures) from None


async def run_all(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Results in order; on the first failure the others are cancelled and it is raised."""
    async with task_group() as group:
        tasks = [group.create_task(_awaited(a)) for a in awaitables]
    return [task.result() for task in tasks]


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _first(failures: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in failures.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first(error)
        return error
    return failures
