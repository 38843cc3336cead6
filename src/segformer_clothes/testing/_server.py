"""`FakeInferenceServer`: its switches, counters and lifecycle, and the answers it computes."""

from __future__ import annotations

import collections
import hashlib
import io
import json
import random
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ..formats.answer import encode_answer
from ._answers import Answer, pixel_labels
from ._handler import QuietServer, handler_for
from ._hostile import HOSTILE_FAULTS

__all__ = ["FAULTS", "FakeInferenceServer"]

FAULTS = ("429", "503", "loading", "500", "502", "drop", "truncate", "slow", *HOSTILE_FAULTS)
"""The faults the server can inject: ``"429"`` rate limited (with ``Retry-After``),
``"503"`` overloaded, ``"loading"`` 503 with ``estimated_time``, ``"500"`` and ``"502"``
server errors, ``"drop"`` closing the connection without an answer, ``"truncate"`` a 200 whose
JSON body is cut in half, ``"slow"`` an answer held back ``slow_seconds``.

And the hostile ones, to check that a pipeline stays safe and bounded whatever a server (or a
proxy on the way) sends: ``"trickle"`` the answer one byte every ``trickle_seconds``;
``"trickle_headers"`` its status line and headers (some 15 kB of them) one byte every
``trickle_seconds``;
``"gzip_lie"`` a plain answer labelled ``Content-Encoding: gzip``; ``"echo"`` a 401 that
repeats the request's headers (the token included) in its body and its headers;
``"deep_json"`` lists nested 100,000 deep; ``"huge_int"`` an integer of 100,000 digits;
``"bomb"`` a small gzip body that expands to ``bomb_bytes`` (a valid answer padded with
spaces); ``"huge"`` the same answer of ``bomb_bytes`` uncompressed; ``"mask_bomb"`` a mask PNG
whose header claims 100,000 x 100,000 pixels; ``"empty"`` a 200 with no body; ``"no_content"``
a 204; ``"no_location"`` a 302 without ``Location``. See also the ``redirect_loop`` switch."""


class _Bucket:
    """The server's token bucket: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None when a token was taken; else the seconds until one is free."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return (1 - self.tokens) / self.rate


class FakeInferenceServer:
    """A local HTTP server speaking the Hugging Face image-segmentation API.

    It runs in a background thread from `start` (or ``with``) to `stop`; POST images to
    `url`. Counters (`requests`, `statuses`, `images_seen`, `headers_seen`, `max_in_flight`)
    are safe to read while it runs; `reset` clears them.

    Args:
        answer: what to answer; None for `pixel_labels`. A function of the upright PIL image
            returning a label map (H×W class ids) or a ready answer list, or a mapping from the
            exact bytes POSTed to such a label map or list.
        model: the model name in the URL path (any path is accepted).
        latency: seconds to hold every answer that reaches the model (not the 429s).
        requests_per_second: a token-bucket rate limit; beyond it the server answers 429 with
            a fractional ``Retry-After`` (seconds until the next free token). None: no limit.
        burst: requests the bucket lets through at once.
        faults: a scripted sequence, one entry per request, of names from `FAULTS` (or
            None / ``"ok"`` for a normal answer); after its end answers are normal.
        fault_rate: the chance that a request (after the script) gets a fault drawn from
            ``fault_kinds``, from a random generator seeded with ``seed``.
        fault_kinds: the faults ``fault_rate`` draws from.
        seed: the seed of the generator ``fault_rate`` draws with (same seed, same faults for
            the same order of requests).
        retry_after: the ``Retry-After`` of an injected 429, in seconds.
        estimated_time: the ``estimated_time`` of an injected ``"loading"`` 503.
        slow_seconds: how long a ``"slow"`` answer is held back.
        token: when set, requests must carry ``Authorization: Bearer <token>`` (401 otherwise).
        forbidden_tokens: tokens answered 403 (no "Inference Providers" permission).
        not_found: answer every request 404, as for a model not deployed on the provider.
        redirect_to: answer every request 307 to this URL (except the requests to that URL,
            when it is on this server: a redirect within the server is followed once).
        redirect_loop: answer every request 307 to its own URL, a redirect loop.
        trickle_seconds: the pause between the bytes of a ``"trickle"`` answer.
        bomb_bytes: the size a ``"bomb"`` or ``"huge"`` answer has once decompressed.
        score: the ``score`` of every item (1.0 or None, as the real service sends).
        cache: keep encoded answers by the bytes' digest, so repeated photos cost the server
            nothing (for benchmarks that measure the client).
        history: how many requests' headers `headers_seen` keeps.
        port: the port on 127.0.0.1 to listen on; 0 (the default) takes a free one.

    Attributes:
        requests: requests received.
        statuses: a `collections.Counter` of the answers sent, by status; a dropped connection
            counts as status 0.
        images_seen: images decoded and answered (or answered from the cache).
        headers_seen: the headers of the latest requests, as dicts with lower-case names
            (``Authorization`` included, so a test can check where a token went).
        max_in_flight: the most requests handled at the same time.

    Example:
        >>> import httpx
        >>> with FakeInferenceServer(token="hf_test") as server:
        ...     response = httpx.post(server.url, content=b"x")
        ...     response.status_code, server.statuses[401]
        (401, 1)
    """

    def __init__(
        self,
        answer: Answer | Mapping[bytes, Any] | None = None,
        *,
        model: str = "sayeed99/segformer_b3_clothes",
        latency: float = 0.0,
        requests_per_second: float | None = None,
        burst: int = 1,
        faults: Iterable[str | int | None] = (),
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = ("429", "503", "loading", "500", "drop", "truncate"),
        seed: int = 0,
        retry_after: float = 0.05,
        estimated_time: float = 0.05,
        slow_seconds: float = 2.0,
        token: str | None = None,
        forbidden_tokens: Iterable[str] = (),
        not_found: bool = False,
        redirect_to: str | None = None,
        redirect_loop: bool = False,
        trickle_seconds: float = 0.05,
        bomb_bytes: int = 64 * 2**20,
        score: float | None = None,
        cache: bool = False,
        history: int = 1000,
        port: int = 0,
    ) -> None:
        kinds = tuple(fault_kinds)
        script = [None if f in (None, "ok") else str(f) for f in faults]
        for fault in (*kinds, *script):
            if fault is not None and fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        if not 0 <= fault_rate <= 1:
            raise ValueError(f"fault_rate must be between 0 and 1, got {fault_rate}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) to 65535, got {port}")
        self._port = port
        self.answer = answer
        self.model = model
        self.latency = latency
        self.fault_rate = fault_rate
        self.fault_kinds = kinds
        self.retry_after = retry_after
        self.estimated_time = estimated_time
        self.slow_seconds = slow_seconds
        self.token = token
        self.forbidden_tokens = frozenset(forbidden_tokens)
        self.not_found = not_found
        self.redirect_to = redirect_to
        self.redirect_loop = redirect_loop
        self.trickle_seconds = trickle_seconds
        self.bomb_bytes = bomb_bytes
        self.score = score
        self.cache = cache
        self._bucket = None if requests_per_second is None else _Bucket(requests_per_second, burst)
        self._script = collections.deque(script)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._answers: dict[bytes, bytes] = {}
        self._history = history
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # ----------------------------------------------------------------- counters

    def reset(self) -> None:
        """Clear the counters (not the script of faults, nor the cache)."""
        with self._lock:
            self.requests = 0
            self.statuses: collections.Counter[int] = collections.Counter()
            self.images_seen = 0
            self.headers_seen: collections.deque[dict[str, str]] = collections.deque(
                maxlen=self._history
            )
            self.in_flight = 0
            self.max_in_flight = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The full URL to POST images to (pass it as ``endpoint_url``)."""
        if self._server is None:
            raise RuntimeError("the server is not running; call start() or use it in `with`")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/models/{self.model}"

    def start(self) -> FakeInferenceServer:
        """Start serving on 127.0.0.1 (on ``port``, or a free one) in a background thread."""
        if self._server is not None:
            return self
        server = QuietServer(("127.0.0.1", self._port), handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="FakeInferenceServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeInferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------- answering

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self.fault_rate and self._random.random() < self.fault_rate:
                return self._random.choice(self.fault_kinds)
            return None

    def _answer_body(self, data: bytes) -> bytes | None:
        """The JSON answer for an image, or None when it is not an image."""
        key = hashlib.sha256(data).digest() if self.cache else b""
        if self.cache:
            with self._lock:
                cached = self._answers.get(key)
            if cached is not None:
                return cached
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Exception:
            return None
        if isinstance(self.answer, Mapping):
            answer = self.answer.get(data)
            if answer is None:
                answer = pixel_labels(upright)
        elif self.answer is not None:
            answer = self.answer(upright)
        else:
            answer = pixel_labels(upright)
        if isinstance(answer, np.ndarray):
            answer = encode_answer(answer, score=self.score)
        body = json.dumps(answer).encode()
        if self.cache:
            with self._lock:
                if len(self._answers) >= 4096:
                    self._answers.clear()
                self._answers[key] = body
        return body
