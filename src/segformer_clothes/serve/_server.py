"""`SegmentationServer`: the application on uvicorn, in the foreground or a background thread,
stopped gracefully."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType

from ..backends.protocol import Segmenter
from ._app import ServeState, build_app
from ._metrics import ServeMetrics
from ._settings import INSTALL_COMMAND, ServeSettings

try:
    import uvicorn
except ImportError as error:  # pragma: no cover - the message is checked without the extra
    raise ImportError(
        f"the server runs on starlette and uvicorn, and uvicorn is not installed. Install them "
        f'with: {INSTALL_COMMAND} (from a clone of the repository: pip install ".[serve]")'
    ) from error

__all__ = ["SegmentationServer"]

logger = logging.getLogger("segformer_clothes.serve")

_STARTUP_TIMEOUT = 60.0


class _Uvicorn(uvicorn.Server):
    """Uvicorn, telling the application the moment a shutdown is asked for: from then on a
    request arriving on an open connection is answered 503 instead of being admitted."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SegmentationServer:
    """A segmentation model served over HTTP in the Inference API's wire format.

    A POST of raw image bytes with an image ``Content-Type`` to ``/`` or
    ``/models/<model id>`` is answered with the API's JSON list of ``{"score", "label",
    "mask"}`` items, masks at the photo's size after its EXIF orientation; errors in the
    service's shapes (400, 401, 413, 415, 429 with ``Retry-After``, 503 with
    ``estimated_time`` while the model loads). Concurrent requests are gathered into batches
    for the model (`ServeSettings`); ``GET /health`` says whether it is ready and
    ``GET /metrics`` what it has done.

    Give either a ready ``segmenter`` or ``load``, a function that creates one: the server then
    listens at once, answers 503 while ``load`` runs, and closes the segmenter when it stops.

    Args:
        segmenter: any `Segmenter` (a `LocalSegmenter` most often).
        load: a function returning the segmenter, run in the background at start.
        settings: batching, queue, body size and token.
        host: the address to listen on: 127.0.0.1 (this machine only) unless you ask for
            another.
        port: the port; 0 takes a free one (`url` then tells which).
        model_name: the name the answers and ``/health`` give the model.
        access_log: log a line per request (never its headers, so never a token).

    Example:
        On a stand-in segmenter; `LocalSegmenter` serves a real model the same way:

        >>> import httpx, io, numpy as np
        >>> from PIL import Image
        >>> from segformer_clothes import SegmentationResult
        >>> from segformer_clothes.backends import BaseSegmenter
        >>> class Blank(BaseSegmenter):
        ...     def segment_batch(self, images):
        ...         return [SegmentationResult(np.zeros(i.size[::-1], np.uint8)) for i in images]
        >>> photo = io.BytesIO()
        >>> Image.new("RGB", (40, 30)).save(photo, format="PNG")
        >>> with SegmentationServer(Blank(), port=0) as server:
        ...     answer = httpx.post(server.url, content=photo.getvalue(),
        ...                         headers={"Content-Type": "image/png"})
        >>> answer.status_code, [item["label"] for item in answer.json()]
        (200, ['Background'])
    """

    def __init__(
        self,
        segmenter: Segmenter | None = None,
        *,
        load: Callable[[], Segmenter] | None = None,
        settings: ServeSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        model_name: str | None = None,
        access_log: bool = False,
    ) -> None:
        name = model_name or str(getattr(segmenter, "model", None) or "the model")
        self.state = ServeState(segmenter, load, settings or ServeSettings(), name)
        self.app = build_app(self.state)
        self.host = host
        self.port = port
        self._access_log = access_log
        self._uvicorn: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        return f"SegmentationServer(url={self.url!r}, phase={self.phase!r})"

    @property
    def url(self) -> str:
        """The URL to POST photos to (its port is the real one once started with port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def metrics(self) -> ServeMetrics:
        """The counters ``GET /metrics`` answers with."""
        return self.state.metrics

    @property
    def phase(self) -> str:
        """``"loading"``, ``"ready"``, ``"failed"`` or ``"stopping"``."""
        return self.state.phase

    # ----------------------------------------------------------------- running

    def _prepare(self) -> tuple[_Uvicorn, socket.socket]:
        if self._uvicorn is not None:
            raise RuntimeError("this server was started already; create a new one")
        if not is_loopback(self.host) and self.state.settings.token is None:
            logger.warning(
                "listening on %s without a token: anyone who reaches this address can use "
                "the model; pass a token (--token-env) to require one",
                self.host,
            )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family)
        self.port = listener.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="on",
            log_config=None,
            access_log=self._access_log,
            ws="none",
            timeout_graceful_shutdown=int(self.state.settings.shutdown_timeout),
        )
        server = _Uvicorn(config, self.state.stop_taking_requests)
        self.state.on_load_failure = lambda error: setattr(server, "should_exit", True)
        self._uvicorn = server
        return server, listener

    def run(self, on_listening: Callable[[str], object] | None = None) -> None:
        """Serve in this thread until SIGTERM or Ctrl-C, then stop gracefully: requests in
        flight are answered, requests on open connections get 503, new connections are
        refused. ``on_listening`` is called with `url` once the port is open.

        Raises:
            Exception: the error ``load`` raised, when the model could not be loaded.
        """
        server, listener = self._prepare()
        if on_listening is not None:
            on_listening(self.url)
        main = threading.current_thread() is threading.main_thread()
        # Uvicorn takes the signals over while it serves. Before, a signal asks it to stop as
        # soon as it has started; after, it raises the signal it got once more, which lands
        # here too and changes nothing, so that run() returns instead of the process dying.
        previous = (
            {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            if main
            else {}
        )
        try:
            asyncio.run(server.serve(sockets=[listener]))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            listener.close()
        if self.state.load_error is not None:
            raise self.state.load_error

    def start(self) -> SegmentationServer:
        """Serve in a background thread; returns once the port is open (the model may still
        be loading: see `wait_until_ready`)."""
        server, listener = self._prepare()

        def serve() -> None:
            try:
                asyncio.run(server.serve(sockets=[listener]))
            except BaseException as error:  # reported by start() or stop()
                self._failure = error
            finally:
                listener.close()

        self._thread = threading.Thread(target=serve, name="segmentation-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {_STARTUP_TIMEOUT} s")
            time.sleep(0.01)
        if not server.started:
            self._thread.join()
            raise RuntimeError("the server failed to start") from self._failure
        return self

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Wait until the model is loaded and requests are answered.

        Raises:
            TimeoutError: it is still loading after ``timeout`` seconds.
            Exception: the error loading failed with.
        """
        deadline = time.monotonic() + timeout
        while self.state.phase == "loading":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the model is still loading after {timeout} s")
            time.sleep(0.02)
        if self.state.load_error is not None:
            raise self.state.load_error

    def stop(self) -> None:
        """Stop gracefully, as on SIGTERM, and wait until stopped (a server started with
        `start`)."""
        if self._uvicorn is None or self._thread is None:
            return
        self.state.stop_taking_requests()
        self._uvicorn.should_exit = True
        self._thread.join()

    def __enter__(self) -> SegmentationServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
