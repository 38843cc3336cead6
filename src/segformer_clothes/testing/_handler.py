"""The HTTP side of `FakeInferenceServer`: reading a request and answering it, faults included."""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ._hostile import bomb_chunks, deep_json, huge_integer, mask_bomb

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

    def _send_pieces(
        self, pieces: Iterable[bytes], headers: Mapping[str, str], pause: float = 0.0
    ) -> None:
        """A 200 sent piece by piece, its length unknown ahead (the connection closes at its
        end), ``pause`` seconds between pieces."""
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self._leave(HTTPStatus.OK)
        self.end_headers()
        for piece in pieces:
            self.wfile.write(piece)
            self.wfile.flush()
            if pause:
                time.sleep(pause)

    def _trickle_head(self, body: bytes, pause: float) -> None:
        """A 200 whose status line and headers come one byte every ``pause`` seconds (a long
        head: a client that bounds only each wait on the socket never sees the end)."""
        self.close_connection = True
        padding = "".join(f"x-padding-{i}: {'-' * 60}\r\n" for i in range(200))
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{padding}\r\n"
        ).encode("ascii")
        self._leave(HTTPStatus.OK)
        for at in range(len(head)):
            self.wfile.write(head[at : at + 1])
            self.wfile.flush()
            time.sleep(pause)
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

    def _is_redirect_target(self, target: str) -> bool:
        parts = urllib.parse.urlsplit(target)
        address: Any = self.server.server_address
        host, port = address[0], address[1]
        here = (parts.hostname in (str(host), "localhost"), parts.port == port)
        return all(here) and parts.path == urllib.parse.urlsplit(self.path).path

    def _answer(self, data: bytes) -> None:
        fake = self.fake
        if fake.redirect_loop:
            self._send(307, b"", {"Location": self.path})
            return
        if fake.redirect_to is not None and not self._is_redirect_target(fake.redirect_to):
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
        if fault in ("echo", "deep_json", "huge_int", "mask_bomb", "empty", "no_content"):
            self._hostile(fault)
            return
        if fault == "no_location":
            self._send(302, b"")
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
        if fault == "gzip_lie":
            self._send(HTTPStatus.OK, body, {"Content-Encoding": "gzip"})
            return
        if fault == "trickle":
            one_by_one = (body[at : at + 1] for at in range(len(body)))
            self._send_pieces(one_by_one, {}, pause=fake.trickle_seconds)
            return
        if fault == "trickle_headers":
            self._trickle_head(body, pause=fake.trickle_seconds)
            return
        if fault in ("bomb", "huge"):
            compress = fault == "bomb"
            pieces = bomb_chunks(body, fake.bomb_bytes, compress=compress)
            self._send_pieces(pieces, {"Content-Encoding": "gzip"} if compress else {})
            return
        self._send(HTTPStatus.OK, body)

    def _hostile(self, fault: str) -> None:
        if fault == "echo":
            # What a careless server does: repeat the credentials it was sent, in its error
            # body and in its headers.
            seen = dict(self.headers.items())
            echoed = {f"x-echo-{name.lower()}": value for name, value in seen.items()}
            message = f"Invalid credentials in Authorization header: {seen.get('Authorization')}"
            self._error(401, message, headers=echoed, received=seen)
        elif fault == "deep_json":
            self._send(HTTPStatus.OK, deep_json())
        elif fault == "huge_int":
            self._send(HTTPStatus.OK, huge_integer())
        elif fault == "mask_bomb":
            self._send(HTTPStatus.OK, mask_bomb())
        elif fault == "empty":
            self._send(HTTPStatus.OK, b"")
        else:  # no_content
            self.send_response(HTTPStatus.NO_CONTENT)
            self._leave(HTTPStatus.NO_CONTENT)
            self.end_headers()

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
