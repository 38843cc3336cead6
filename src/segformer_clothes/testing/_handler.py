"""The HTTP side of `FakeInferenceServer`: reading a request and answering it, faults included."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import FakeInferenceServer

logger = logging.getLogger("segformer_clothes.testing")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout, a cancelled batch) is normal here, not an error.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("client %s hung up: %s", client_address, error)
            return
        super().handle_error(request, client_address)


def handler_for(server: FakeInferenceServer) -> type[BaseHTTPRequestHandler]:
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
