"""The ASGI application: the inference routes, ``/health`` and ``/metrics``, and its lifespan
(loading the model in the background, running the batcher, stopping)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image

from ..backends.protocol import Segmenter
from ..errors import InvalidImageError
from ..formats.answer import encode_answer
from ..result import SegmentationResult
from ._batcher import DynamicBatcher
from ._metrics import ServeMetrics
from ._requests import Refusal, authorised, decode_photo, media_type, read_body
from ._settings import INSTALL_COMMAND, ServeSettings

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover - the message is checked without the extra
    raise ImportError(
        f"the server runs on starlette and uvicorn, and {error.name or 'starlette'} is not "
        f"installed. Install them with: {INSTALL_COMMAND} (from a clone of the repository: "
        'pip install ".[serve]")'
    ) from error

__all__ = ["ServeState", "build_app"]

logger = logging.getLogger("segformer_clothes.serve")


class ServeState:
    """What the application shares between its requests: settings, model, batcher, counters.

    ``phase`` is ``"loading"``, ``"ready"``, ``"failed"`` (the model could not be loaded:
    ``load_error`` says why) or ``"stopping"``.
    """

    def __init__(
        self,
        segmenter: Segmenter | None,
        load: Callable[[], Segmenter] | None,
        settings: ServeSettings,
        model_name: str,
    ) -> None:
        if (segmenter is None) == (load is None):
            raise TypeError("give either a segmenter or load=, a function that creates one")
        self.load = load
        self.settings = settings
        self.model_name = model_name
        self.metrics = ServeMetrics()
        self.phase = "loading"
        self.load_error: BaseException | None = None
        self.load_started = time.monotonic()
        self.segmenter = segmenter
        self.batcher: DynamicBatcher | None = None
        self.on_load_failure: Callable[[BaseException], None] = lambda error: None
        self.pixels = ThreadPoolExecutor(settings.pixel_threads, "serve-pixels")
        self.model_thread = ThreadPoolExecutor(1, "serve-model")

    def stop_taking_requests(self) -> None:
        """From now on requests are answered 503 (shutdown has begun); those admitted finish."""
        if self.phase != "failed":
            self.phase = "stopping"

    def loading_seconds_left(self) -> float:
        elapsed = time.monotonic() - self.load_started
        return round(max(1.0, self.settings.load_estimate - elapsed), 1)

    def retry_after(self) -> str:
        """Whole seconds until a place in the queue is likely free (at least 1)."""
        per_batch = self.metrics.batch_seconds or 1.0
        waiting = self.metrics.admitted / self.settings.max_batch_size
        return str(max(1, min(60, math.ceil(per_batch * waiting))))


def _error(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _encode(result: SegmentationResult) -> bytes:
    # Zlib level 1: the masks are 0/255 planes that compress almost as well at any level.
    answer = encode_answer(result.label_map, labels=result.labels, score=1.0, compress_level=1)
    return json.dumps(answer, separators=(",", ":")).encode("ascii")


async def _answer(state: ServeState, request: Request) -> Response:
    """Check, read, decode, batch and encode one photo; every failure is a `Refusal`."""
    settings = state.settings
    if not authorised(request.headers.get("authorization"), settings.token):
        raise Refusal(401, "invalid or missing token: send 'Authorization: Bearer <token>'")
    if state.phase == "loading":
        raise Refusal(503, f"Model {state.model_name} is currently loading")
    if state.phase != "ready" or state.batcher is None:
        raise Refusal(503, f"the server is {state.phase}; try another server or try again later")
    kind = media_type(request.headers.get("content-type"))
    if not state.metrics._admit(settings.max_queue):
        raise Refusal(
            429,
            f"the queue is full ({settings.max_queue} requests); retry after the time given",
            {"Retry-After": state.retry_after()},
        )
    try:
        body = await read_body(
            request.stream(), request.headers.get("content-length"), settings.max_body_bytes
        )
        loop = asyncio.get_running_loop()
        photo: Image.Image = await loop.run_in_executor(state.pixels, decode_photo, body, kind)
        del body  # the photo is what the batch needs; the bytes can go
        outcome = await state.batcher.segment(photo)
        if isinstance(outcome, InvalidImageError):
            raise Refusal(400, f"the body is not a usable image: {outcome.message}")
        if not isinstance(outcome, SegmentationResult):
            logger.error("the model failed on a photo: %s", outcome)
            raise Refusal(500, f"the model failed on this photo: {outcome}")
        encoded = await loop.run_in_executor(state.pixels, _encode, outcome)
    finally:
        state.metrics._release()
    return Response(encoded, media_type="application/json")


def build_app(state: ServeState) -> Starlette:
    """The application serving ``state``'s model."""

    async def infer(request: Request) -> Response:
        request_id = uuid.uuid4().hex
        try:
            response = await _answer(state, request)
        except Refusal as refusal:
            extra: dict[str, Any] = {}
            if refusal.status == 503 and state.phase == "loading":
                extra["estimated_time"] = state.loading_seconds_left()
            response = _error(refusal.status, refusal.message, refusal.headers, **extra)
            if state.phase == "stopping":
                response.headers["Connection"] = "close"
        except Exception as error:  # a batch that failed as a whole
            response = _error(500, f"the model failed: {type(error).__name__}: {error}")
        response.headers["x-request-id"] = request_id
        state.metrics._answered(response.status_code)
        return response

    async def health(request: Request) -> Response:
        body: dict[str, Any] = {"status": state.phase, "model": state.model_name}
        if state.phase == "loading":
            body["estimated_time"] = state.loading_seconds_left()
        if state.load_error is not None:
            body["error"] = str(state.load_error)
        return JSONResponse(body, status_code=200 if state.phase == "ready" else 503)

    async def metrics(request: Request) -> Response:
        if not authorised(request.headers.get("authorization"), state.settings.token):
            return _error(401, "invalid or missing token: send 'Authorization: Bearer <token>'")
        snapshot = state.metrics.snapshot()
        snapshot.update(status=state.phase, max_batch_size=state.settings.max_batch_size)
        snapshot["max_queue"] = state.settings.max_queue
        return JSONResponse(snapshot)

    routes = [
        Route("/", infer, methods=["POST"]),
        Route("/models/{model_id:path}", infer, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lambda app: _lifespan(state))


async def _load(state: ServeState) -> None:
    loop = asyncio.get_running_loop()
    try:
        if state.load is not None:
            state.segmenter = await loop.run_in_executor(state.model_thread, state.load)
        segmenter = state.segmenter
        assert segmenter is not None
    except Exception as error:
        logger.error("the model %s could not be loaded: %s", state.model_name, error)
        state.phase, state.load_error = "failed", error
        state.on_load_failure(error)
        return
    settings = state.settings
    state.batcher = DynamicBatcher(
        segmenter.segment_batch,
        max_batch_size=settings.max_batch_size,
        max_wait=settings.max_wait_ms / 1000,
        executor=state.model_thread,
        metrics=state.metrics,
    )
    if state.phase == "loading":
        state.phase = "ready"
    logger.info(
        "%s is ready (batches of up to %d, %g ms to fill)",
        state.model_name,
        settings.max_batch_size,
        settings.max_wait_ms,
    )
    await state.batcher.run()


@contextlib.asynccontextmanager
async def _lifespan(state: ServeState) -> AsyncIterator[None]:
    state.load_started = time.monotonic()
    task = asyncio.create_task(_load(state))
    try:
        yield
    finally:
        # Uvicorn runs this after the requests in flight are answered.
        state.stop_taking_requests()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        state.pixels.shutdown(wait=False, cancel_futures=True)
        state.model_thread.shutdown(wait=True)
        if state.load is not None and state.segmenter is not None:
            state.segmenter.close()  # the server made it, the server closes it
