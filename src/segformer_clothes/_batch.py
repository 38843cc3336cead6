"""Running one coroutine per input, a bounded number at a time, and yielding in input order.

The workers are not children of a task group held across ``yield``: an async generator that
yields inside a task group breaks when it is closed from another task, which is what asyncio
and trio do with a loop the caller left early. Each worker is spawned on its own (an asyncio
task, or a trio system task) inside its own cancel scope; the generator's ``finally`` cancels
the ones still running and waits for them, so breaking out early leaks nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["Outcome", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

_ASYNCIO_TASKS: set[asyncio.Task[None]] = set()  # strong references while tasks run


class Outcome(Generic[T, R]):
    """One input and, once its worker finished, its value or its error."""

    __slots__ = ("_cancelled", "_scope", "error", "finished", "item", "value")

    def __init__(self, item: T) -> None:
        self.item = item
        self.value: R | None = None
        self.error: Exception | None = None
        self.finished = anyio.Event()
        self._cancelled = False
        self._scope: anyio.CancelScope | None = None

    async def run(self, work: Callable[[T], Awaitable[R]]) -> None:
        try:
            if self._cancelled:
                return
            with anyio.CancelScope() as scope:
                self._scope = scope
                try:
                    self.value = await work(self.item)
                except Exception as error:
                    self.error = error
        finally:
            self.finished.set()

    def cancel(self) -> None:
        self._cancelled = True
        if self._scope is not None:
            self._scope.cancel()


def _spawn(function: Callable[[], Awaitable[None]]) -> None:
    """Start ``function`` in the running event loop, outside any task group."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio  # no asyncio loop running: we are under trio

        trio.lowlevel.spawn_system_task(function)
        return

    async def body() -> None:
        await function()

    task = loop.create_task(body())
    _ASYNCIO_TASKS.add(task)
    task.add_done_callback(_ASYNCIO_TASKS.discard)


async def ordered_map(
    items: Iterable[T] | AsyncIterable[T],
    work: Callable[[T], Awaitable[R]],
    *,
    window: int,
) -> AsyncGenerator[Outcome[T, R], None]:
    """Yield the outcome of ``work(item)`` for each item, in input order.

    At most ``window`` items are taken from ``items`` ahead of the one being yielded, so a lazy
    iterable of any length is read with bounded memory.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    next_item: Callable[[], Awaitable[T]]
    if isinstance(items, AsyncIterable):
        async_iterator = aiter(items)

        async def next_item() -> T:
            return await anext(async_iterator)

    else:
        iterator = iter(items)

        async def next_item() -> T:
            try:
                return next(iterator)
            except StopIteration:
                raise StopAsyncIteration from None

    pending: deque[Outcome[T, R]] = deque()
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < window:
                try:
                    item = await next_item()
                except StopAsyncIteration:
                    exhausted = True
                    break
                outcome: Outcome[T, R] = Outcome(item)
                pending.append(outcome)
                _spawn(_bind(outcome, work))
            if not pending:
                return
            await pending[0].finished.wait()
            yield pending.popleft()
    finally:
        for outcome in pending:
            outcome.cancel()
        with anyio.CancelScope(shield=True):
            for outcome in pending:
                await outcome.finished.wait()


def _bind(outcome: Outcome[Any, Any], work: Callable[[Any], Awaitable[Any]]) -> Callable[[], Any]:
    async def run() -> None:
        await outcome.run(work)

    return run
