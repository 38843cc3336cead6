"""`FakeInferenceServer`: a real HTTP server on 127.0.0.1 that answers like the Hugging Face
image-segmentation API, for testing pipelines without network, token or model.

It speaks the wire format of the real service (see DESIGN.md section 1): a POST of raw image
bytes with a ``Content-Type`` gets a JSON list of ``{"score", "label", "mask"}`` items, each
mask a full-size mode-L PNG of 0 and 255, and errors come with the same status codes, bodies
and headers (``Retry-After``, ``x-request-id``). Its answers are deterministic: by default a
function of the pixels' position and brightness (`pixel_labels`), or a table or function you
give. Switches add latency, a token-bucket rate limit, injected faults, a required token, a
404 mode and a redirect, and it counts what it received so a test can check it.

Example:
    >>> from PIL import Image
    >>> from segformer_clothes import SegformerClothesClient
    >>> from segformer_clothes.testing import FakeInferenceServer
    >>> with FakeInferenceServer(faults=["loading", "429"]) as server:
    ...     with SegformerClothesClient(endpoint_url=server.url) as client:
    ...         result = client.segment(Image.new("RGB", (40, 60), "navy"))
    ...     server.statuses[503], server.statuses[429], server.statuses[200]
    (1, 1, 1)
    >>> result.labels_present
    ('Background', 'Hair', 'Upper-clothes', 'Pants', 'Left-shoe', 'Right-shoe', 'Face')
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import json
import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from .labels import CLOTHES_NAMES

__all__ = ["FAULTS", "FakeInferenceServer", "encode_answer", "pixel_labels"]

logger = logging.getLogger("segformer_clothes.testing")

FAULTS = ("429", "503", "loading", "500", "502", "drop", "truncate", "slow")
"""The faults the server can inject: ``"429"`` rate limited (with ``Retry-After``),
``"503"`` overloaded, ``"loading"`` 503 with ``estimated_time``, ``"500"`` and ``"502"``
server errors, ``"drop"`` closing the connection without an answer, ``"truncate"`` a 200 whose
JSON body is cut in half, ``"slow"`` an answer held back ``slow_seconds``."""

Answer = Callable[[Image.Image], "np.ndarray | list[dict[str, Any]]"]


def pixel_labels(image: Image.Image) -> np.ndarray:
    """The default answer: a plausible person-shaped label map, a function of the pixels.

    A central column of the photo is a person, in bands from the top: Hair, Face,
    Upper-clothes, Pants, then Left-shoe and Right-shoe; near-white pixels (all channels above
    240) and everything outside the column are Background. The same photo always gives the
    same label map.

    Example:
        >>> from PIL import Image
        >>> sorted(set(pixel_labels(Image.new("RGB", (20, 20), "black")).ravel().tolist()))
        [0, 2, 4, 6, 9, 10, 11]
    """
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    rows = (np.arange(height) + 0.5)[:, None] / height
    columns = (np.arange(width) + 0.5)[None, :] / width
    band = np.select(
        [rows < 0.12, rows < 0.25, rows < 0.55, rows < 0.9, columns < 0.5],
        [2, 11, 4, 6, 9],
        default=10,
    ).astype(np.uint8)
    person = np.abs(columns - 0.5) < 0.3
    white = (rgb > 240).all(axis=2)
    return np.where(person & ~white, band, np.uint8(0)).astype(np.uint8)


def encode_answer(label_map: np.ndarray, *, score: float | None = None) -> list[dict[str, Any]]:
    """A label map as the API answers it: one item per label present, in id order, each with
    a base64 full-size mode-L PNG of 0 and 255.

    Example:
        >>> import numpy as np
        >>> [item["label"] for item in encode_answer(np.array([[0, 4]], dtype=np.uint8))]
        ['Background', 'Upper-clothes']
    """
    items = []
    for class_id in np.flatnonzero(np.bincount(label_map.ravel(), minlength=len(CLOTHES_NAMES))):
        mask = np.where(label_map == class_id, np.uint8(255), np.uint8(0))
        buffer = io.BytesIO()
        Image.fromarray(mask, mode="L").save(buffer, format="PNG", compress_level=1)
        items.append(
            {
                "score": score,
                "label": CLOTHES_NAMES[class_id],
                "mask": base64.b64encode(buffer.getvalue()).decode("ascii"),
            }
        )
    return items


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
        redirect_to: answer every request 307 to this URL.
        score: the ``score`` of every item (1.0 or None, as the real service sends).
        cache: keep encoded answers by the bytes' digest, so repeated photos cost the server
            nothing (for benchmarks that measure the client).
        history: how many requests' headers `headers_seen` keeps.

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
        score: float | None = None,
        cache: bool = False,
        history: int = 1000,
    ) -> None:
        kinds = tuple(fault_kinds)
        script = [None if f in (None, "ok") else str(f) for f in faults]
        for fault in (*kinds, *script):
            if fault is not None and fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        if not 0 <= fault_rate <= 1:
            raise ValueError(f"fault_rate must be between 0 and 1, got {fault_rate}")
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
        """Start serving on a free port of 127.0.0.1 in a background thread."""
        if self._server is not None:
            return self
        server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
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


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout, a cancelled batch) is normal here, not an error.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("client %s hung up: %s", client_address, error)
            return
        super().handle_error(request, client_address)


def _handler_for(server: FakeInferenceServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm meets the
    # client's delayed ACK and every answer waits 40 ms.
    disable_nagle_algorithm = True
    fake: FakeInferenceServer
    _in_flight = False

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _send(
        self, status: int, body: bytes, headers: Mapping[str, str] | None = None, length: int = -1
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if length < 0 else length))
        self.send_header("x-request-id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # Counted before the client can see the answer, so a test reading the counters after
        # its call returned finds them up to date.
        self._leave(status)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, **extra: Any) -> None:
        headers = extra.pop("headers", None)
        self._send(status, json.dumps({"error": message, **extra}).encode(), headers)

    def do_POST(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        with fake._lock:
            fake.requests += 1
            fake.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        self._in_flight = True
        try:
            self._answer(data)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client gave up (a "slow" answer, a timeout)
        finally:
            self._leave(None)

    def _leave(self, status: int | None) -> None:
        """Count the answer (status 0: none) and leave the requests in flight, once."""
        if not self._in_flight:
            return
        self._in_flight = False
        with self.fake._lock:
            self.fake.in_flight -= 1
            if status is not None:
                self.fake.statuses[int(status)] += 1

    def _answer(self, data: bytes) -> None:
        fake = self.fake
        if fake.redirect_to is not None:
            self._send(307, b"", {"Location": fake.redirect_to})
            return
        if fake.not_found:
            self._error(404, f"Model {fake.model} is not deployed by this provider")
            return
        if fake.token is not None:
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if given in fake.forbidden_tokens:
                self._error(
                    403,
                    "This authentication method does not have sufficient permissions to call "
                    "Inference Providers on behalf of user",
                )
                return
            if given != fake.token:
                self._error(401, "Invalid credentials in Authorization header")
                return
        if fake._bucket is not None:
            wait = fake._bucket.take()
            if wait is not None:
                self._error(429, "Rate limit reached", headers={"Retry-After": f"{wait:.3f}"})
                return
        fault = fake._next_fault()
        if fault in ("429", "503", "loading", "500", "502", "drop"):
            self._fault(fault)
            return
        time.sleep(fake.latency + (fake.slow_seconds if fault == "slow" else 0.0))
        content_type = self.headers.get("Content-Type") or ""
        if not content_type.startswith("image/"):
            self._error(400, "Content type None not supported. Expected an image/* type")
            return
        body = fake._answer_body(data)
        if body is None:
            self._error(400, "Could not read the image: cannot identify image file")
            return
        with fake._lock:
            fake.images_seen += 1
        if fault == "truncate":
            cut = body[: len(body) // 2]
            self._send(HTTPStatus.OK, cut, length=len(cut))
            return
        self._send(HTTPStatus.OK, body)

    def _fault(self, fault: str) -> None:
        fake = self.fake
        if fault == "429":
            retry = {"Retry-After": f"{fake.retry_after:g}"}
            self._error(429, "Rate limit reached", headers=retry)
        elif fault == "loading":
            self._error(
                503,
                f"Model {fake.model} is currently loading",
                estimated_time=fake.estimated_time,
            )
        elif fault == "503":
            self._error(503, "Service Unavailable")
        elif fault in ("500", "502"):
            self._error(int(fault), "Internal Server Error")
        else:  # drop
            self._leave(0)
            self.close_connection = True
