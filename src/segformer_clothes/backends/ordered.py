"""Running one coroutine per input, a bounded number at a time, and yielding in input order.

The workers are not children of a task group held across calls: a task group cannot outlive
one ``__anext__``, and an async generator holding one breaks when the event loop closes it from
another task (what asyncio and trio do after a plain ``break``). Each worker is spawned on its
own (an asyncio task, or a trio system task) inside its own cancel scope; `OrderedMap.aclose`
(or dropping the iterator) cancels the ones still running, so breaking out early leaks
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["ItemOutcome", "OrderedMap"]

T = TypeVar("T")
R = TypeVar("R")

_ASYNCIO_TASKS: set[asyncio.Task[None]] = set()  # strong references while tasks run


class ItemOutcome(Generic[T, R]):
    """One input and, once its worker finished, its value or its error."""

    __slots__ = ("_cancelled", "_scope", "error", "finished", "item", "value")

    def __init__(self, item: T) -> None:
        self.item = item
        self.value: R | None = None
        self.error: Exception | None = None
        self.finished = anyio.Event()
        self._cancelled = False
        self._scope: anyio.CancelScope | None = None

    async def run(
        self, work: Callable[[T], Awaitable[R]], slots: OrderedSlots, ticket: int
    ) -> None:
        try:
            if self._cancelled:
                return
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with slots.slot(ticket):
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


class OrderedSlots:
    """At most ``size`` holders at once, admitted strictly in ticket order.

    Workers start in no guaranteed order (trio shuffles them on purpose), so a plain limiter
    could let the read-ahead overtake the image the caller waits for next. Tickets are handed
    out in input order, and a free slot always goes to the lowest ticket not yet admitted.
    Everything but the wait is synchronous, so cancellation cannot leave a slot taken.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._issued = 0
        self._admitted = 0
        self._turns: dict[int, anyio.Event] = {}

    def ticket(self) -> int:
        ticket = self._issued
        self._issued += 1
        self._admit()
        return ticket

    def _admit(self) -> None:
        while self._free > 0 and self._admitted < self._issued:
            self._free -= 1
            self._turns.setdefault(self._admitted, anyio.Event()).set()
            self._admitted += 1

    @contextlib.asynccontextmanager
    async def slot(self, ticket: int) -> AsyncIterator[None]:
        turn = self._turns.setdefault(ticket, anyio.Event())
        try:
            await turn.wait()
            yield
        finally:
            del self._turns[ticket]
            if turn.is_set():  # admitted (even if cancelled right after): give the slot back
                self._free += 1
                self._admit()


class OrderedMap(Generic[T, R]):
    """An async iterator of the outcome of ``work(item)`` for each item, in input order,
    with at most ``concurrency`` calls of ``work`` running at once.

    At most ``window`` items are taken from ``items`` ahead of the one being returned, so a
    lazy iterable of any length is read with bounded memory. A class, not an async generator:
    dropped without `aclose` (a plain ``break``), it cancels its workers when collected, with
    no event-loop finalizer involved and nothing left running.
    """

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        work: Callable[[T], Awaitable[R]],
        *,
        window: int,
        concurrency: int,
    ) -> None:
        if window < concurrency or concurrency < 1:
            raise ValueError(
                f"need 1 <= concurrency <= window, got concurrency {concurrency}, window {window}"
            )
        self._slots = OrderedSlots(concurrency)
        self._items = items
        self._iterator: Iterator[T] | AsyncIterator[T] | None = None
        self._work = work
        self._window = window
        self._pending: deque[ItemOutcome[T, R]] = deque()
        self._exhausted = False
        self._input_error: Exception | None = None

    def __aiter__(self) -> OrderedMap[T, R]:
        return self

    async def _next_item(self) -> T:
        if self._iterator is None:
            items = self._items
            self._iterator = aiter(items) if isinstance(items, AsyncIterable) else iter(items)
        if isinstance(self._iterator, AsyncIterator):
            return await anext(self._iterator)
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None

    async def __anext__(self) -> ItemOutcome[T, R]:
        try:
            while not self._exhausted and len(self._pending) < self._window:
                try:
                    item = await self._next_item()
                except StopAsyncIteration:
                    self._exhausted = True
                    break
                except Exception as error:
                    # The input failed: the items read before it still come out first.
                    self._exhausted = True
                    self._input_error = error
                    break
                outcome: ItemOutcome[T, R] = ItemOutcome(item)
                self._pending.append(outcome)
                _spawn(_bind(outcome, self._work, self._slots, self._slots.ticket()))
            if not self._pending:
                if self._input_error is not None:
                    failure, self._input_error = self._input_error, None
                    raise failure
                raise StopAsyncIteration
            await self._pending[0].finished.wait()
        except BaseException:
            self.cancel()  # the caller stopped (cancelled, or the input failed): stop all
            raise
        return self._pending.popleft()

    def cancel(self) -> None:
        """Cancel every worker still running, without waiting, and stop reading the input."""
        self._exhausted = True
        for outcome in list(self._pending):
            outcome.cancel()

    async def aclose(self) -> None:
        """Cancel every worker still running and wait until they have all stopped."""
        self.cancel()
        # A copy: an `__anext__` still running elsewhere (a sync caller interrupted by Ctrl-C
        # leaves one behind in the batch's loop) may pop from the queue meanwhile.
        with anyio.CancelScope(shield=True):
            for outcome in list(self._pending):
                await outcome.finished.wait()
        self._pending.clear()

    def __del__(self) -> None:
        self.cancel()


def _bind(
    outcome: ItemOutcome[Any, Any],
    work: Callable[[Any], Awaitable[Any]],
    slots: OrderedSlots,
    ticket: int,
) -> Callable[[], Any]:
    async def run() -> None:
        await outcome.run(work, slots, ticket)

    return run
