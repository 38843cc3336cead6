"""One photo's exchange with the server as a plan of steps, and the two ways to carry it out.

The client writes what a photo needs once, as a generator that yields steps (post this
request, sleep this long, run this parsing function) and receives each step's result. The
sync driver performs the steps with an `httpx.Client` and ``time.sleep``; the async driver
with an `httpx.AsyncClient`, ``anyio.sleep`` and a worker thread for the parsing. So the two
paths differ only where they wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeAlias, TypeVar

import anyio.to_thread
import attrs
import httpx

__all__ = ["AsyncSteps", "Call", "Plan", "Post", "Sleep", "SyncSteps"]

T = TypeVar("T")


@attrs.frozen
class Post:
    """Send a request; the driver returns the `httpx.Response` (body read) or raises the
    `httpx.TransportError` into the plan."""

    url: httpx.URL
    headers: dict[str, str]
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class Sleep:
    """Wait this many seconds."""

    seconds: float


@attrs.frozen
class Call:
    """Run CPU work (reading a photo, parsing an answer); off the event loop when async."""

    function: Callable[..., Any]
    args: tuple[Any, ...]


Step: TypeAlias = Post | Sleep | Call
Plan: TypeAlias = Generator[Step, Any, T]


class _Progress:
    """Where a plan stands: the next step, or its return value once it has ended."""

    def __init__(self, plan: Plan[Any]) -> None:
        self._plan = plan
        self.value: Any = None

    def resume(self, reply: Any = None, error: Exception | None = None) -> Step | None:
        try:
            if error is not None:
                return self._plan.throw(error)
            return self._plan.send(reply)
        except StopIteration as stop:
            self.value = stop.value
            return None


def _settle(perform: Callable[[Step], Any], step: Step) -> tuple[Any, Exception | None]:
    try:
        return perform(step), None
    except Exception as error:
        return None, error


async def _asettle(reply: Awaitable[Any]) -> tuple[Any, Exception | None]:
    try:
        return await reply, None
    except Exception as error:
        return None, error


class SyncSteps:
    """Performs a plan's steps in the calling thread."""

    def __init__(self, http: httpx.Client, sleep: Callable[[float], None]) -> None:
        self._http = http
        self._sleep = sleep

    def perform(self, step: Step) -> Any:
        if isinstance(step, Post):
            return self._http.post(step.url, content=step.body, headers=step.headers)
        if isinstance(step, Sleep):
            return self._sleep(step.seconds)
        return step.function(*step.args)

    def run(self, plan: Plan[T]) -> T:
        """Carry out the plan and return its value (or raise what it raised)."""
        progress = _Progress(plan)
        with contextlib.closing(plan):  # closed also when stopped early (Ctrl-C)
            step = progress.resume()
            while step is not None:
                step = progress.resume(*_settle(self.perform, step))
        return progress.value  # type: ignore[no-any-return]


class AsyncSteps:
    """Performs a plan's steps on the running event loop (asyncio or trio)."""

    def __init__(self, http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._http = http
        self._sleep = sleep

    async def perform(self, step: Step) -> Any:
        if isinstance(step, Post):
            return await self._http.post(step.url, content=step.body, headers=step.headers)
        if isinstance(step, Sleep):
            return await self._sleep(step.seconds)
        return await anyio.to_thread.run_sync(step.function, *step.args)

    async def run(self, plan: Plan[T]) -> T:
        """Carry out the plan and return its value (or raise what it raised)."""
        progress = _Progress(plan)
        with contextlib.closing(plan):  # closed also when cancelled
            step = progress.resume()
            while step is not None:
                step = progress.resume(*await _asettle(self.perform(step)))
        return progress.value  # type: ignore[no-any-return]
