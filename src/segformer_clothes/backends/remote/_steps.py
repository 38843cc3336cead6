"""One photo's exchange with the server as a plan of steps, and the two ways to carry it out.

The client writes what a photo needs once, as a generator that yields steps (post this
request, sleep this long, run this parsing function) and receives each step's result. The
sync driver performs the steps with an `httpx.Client` and ``time.sleep``; the async driver
with an `httpx.AsyncClient`, ``anyio.sleep`` and a worker thread for the parsing. So the two
paths differ only where they wait.

Both read an answer the same way (`Body`): streamed, counting its decoded bytes against a cap
and the time against the exchange's deadline, so a gzip bomb or a server that trickles its
answer a byte at a time costs bounded memory and time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeAlias, TypeVar

import anyio
import anyio.to_thread
import attrs
import httpx

from ._body import ACCEPTED_ENCODINGS, Body
from ._deadline import bounded_by

__all__ = ["AsyncSteps", "Call", "Plan", "Post", "Reply", "Sleep", "SyncSteps"]

T = TypeVar("T")

# Headers an HTTP client adds by itself, harmless anywhere; every other header a pool adds by
# default (an injected client's own headers=) is a possible credential.
_PLAIN_HEADERS = frozenset({"accept", "accept-encoding", "connection", "user-agent"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@attrs.frozen
class Post:
    """Send a request and read its answer within ``timeout`` seconds for the whole exchange
    and ``max_bytes`` of decoded body. The driver returns a `Reply`, or raises into the plan
    an `httpx.HTTPError`, a `TimeoutError` (the deadline passed) or `AnswerTooLarge`.

    ``foreign``: the URL is of another origin than the endpoint (after a redirect), so the
    request goes without any credential the pool would add (cookies, its auth, its headers).
    """

    url: httpx.URL
    headers: dict[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    timeout: float
    max_bytes: int
    foreign: bool = False


@attrs.frozen
class Reply:
    """An answer read to its end."""

    status: int
    headers: httpx.Headers = attrs.field(repr=False)  # may echo what the request carried
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
        finally:
            # This frame outlives the step in a traceback: it must not keep the failure of
            # an exchange (whose request holds the token) among its local variables.
            del reply, error


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


def _request(http: httpx.Client | httpx.AsyncClient, step: Post) -> httpx.Request:
    request = http.build_request("POST", step.url, content=step.body, headers=step.headers)
    request.headers["Accept-Encoding"] = ACCEPTED_ENCODINGS  # what `Body` decodes
    if step.foreign:
        # What the pool adds on its own (cookies, its default headers) stays with the endpoint.
        added = {name.lower() for name in http.headers} - _PLAIN_HEADERS
        ours = {name.lower() for name in step.headers}  # what the plan chose to send there
        for name in (added | _CREDENTIAL_HEADERS) - ours:
            request.headers.pop(name, None)
    return request


def _read_already(response: httpx.Response, body: Body) -> bool:
    """True when the response came with its body in memory (a mock transport), now taken."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return False
    body.add_decoded(content)
    return True


def _send_options(step: Post) -> dict[str, Any]:
    # auth=None: the pool's own auth is for the endpoint, not for where it redirects.
    return {"stream": True, "auth": None} if step.foreign else {"stream": True}


class SyncSteps:
    """Performs a plan's steps in the calling thread."""

    def __init__(self, http: httpx.Client, sleep: Callable[[float], None]) -> None:
        self._http = http
        self._sleep = sleep

    def _post(self, step: Post) -> Reply:
        # httpx bounds each wait on the socket; the deadline bounds the whole exchange: on the
        # client's own pool every wait ends by it (the head included), and on a pool the caller
        # gave it is checked as each piece of the body arrives.
        deadline = time.monotonic() + step.timeout
        with bounded_by(deadline):
            response = self._http.send(_request(self._http, step), **_send_options(step))
            try:
                body = Body(response, max_bytes=step.max_bytes, deadline=deadline)
                if not _read_already(response, body) and body.failure is None:
                    for chunk in response.iter_raw():
                        if not body.add(chunk):
                            break
            finally:
                response.close()
        return Reply(response.status_code, response.headers, body.content())

    def perform(self, step: Step) -> Any:
        if isinstance(step, Post):
            return self._post(step)
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

    async def _post(self, step: Post) -> Reply:
        deadline = time.monotonic() + step.timeout
        with anyio.fail_after(step.timeout):
            response = await self._http.send(_request(self._http, step), **_send_options(step))
            try:
                body = Body(response, max_bytes=step.max_bytes, deadline=deadline)
                with anyio.CancelScope() as reading:
                    if not _read_already(response, body) and body.failure is None:
                        async for chunk in response.aiter_raw():
                            if not body.add(chunk):
                                # Breaking out would leave httpx's stream generators
                                # suspended (trio warns as they are collected); a
                                # cancellation unwinds them from inside.
                                reading.cancel()
            finally:
                await response.aclose()
        return Reply(response.status_code, response.headers, body.content())

    async def perform(self, step: Step) -> Any:
        if isinstance(step, Post):
            return await self._post(step)
        if isinstance(step, Sleep):
            return await self._sleep(step.seconds)
        # A call only reads or computes (it changes nothing outside it): when cancelled, it is
        # left to end on its own, so that a read the system cannot interrupt (a hung network
        # drive) does not hold up Ctrl-C or the end of a batch.
        return await anyio.to_thread.run_sync(step.function, *step.args, abandon_on_cancel=True)

    async def run(self, plan: Plan[T]) -> T:
        """Carry out the plan and return its value (or raise what it raised)."""
        progress = _Progress(plan)
        with contextlib.closing(plan):  # closed also when cancelled
            step = progress.resume()
            while step is not None:
                step = progress.resume(*await _asettle(self.perform(step)))
        return progress.value  # type: ignore[no-any-return]
