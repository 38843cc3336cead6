"""Turning an HTTP answer or a transport failure into a payload or one of our errors.

Written once for the sync and async paths: both hand the status, headers and body here.
Whatever the server sends, what comes out is one of the library's errors: a body too deep or
too strange for the JSON decoder, a wrong content encoding or an oversized answer included,
and no error keeps the httpx exception (whose request holds the token) as its cause.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ...errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ModelLoadingError,
    ModelNotFoundError,
    NetworkError,
    PayloadTooLargeError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    SegformerClothesError,
    ServerError,
    TruncatedResponseError,
    UnsupportedMediaTypeError,
)
from ._body import AnswerTooLarge
from .retry import retry_after_from_headers

# The most of a server's own words an error repeats: enough to read, not a whole page.
_MESSAGE_CHARS = 300

__all__ = ["check_answer", "error_for_status", "error_for_transport"]


def request_id(headers: Mapping[str, str]) -> str | None:
    """The ``x-request-id`` or ``x-inference-id`` header, where there is one."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return lowered.get("x-request-id") or lowered.get("x-inference-id")


def _error_body(body: bytes) -> tuple[str | None, float | None]:
    """The ``error`` message and ``estimated_time`` of an error body, where it has them."""
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raw = body[: _MESSAGE_CHARS * 4].decode("utf-8", "replace").strip()
        return (raw[:_MESSAGE_CHARS] or None), None
    if not isinstance(decoded, Mapping):
        return None, None
    message = decoded.get("error")
    try:
        if isinstance(message, list):
            message = "; ".join(map(str, message[:20]))
        text = None if message is None else str(message)[:_MESSAGE_CHARS]
    except (RecursionError, ValueError):  # absurdly nested, or an integer too long to print
        text = "(an unreadable error message)"
    estimated = decoded.get("estimated_time")
    estimated_time: float | None = None
    if isinstance(estimated, (int, float)) and not isinstance(estimated, bool):
        try:
            estimated_time = float(estimated)
        except OverflowError:  # an integer of hundreds of digits: longer than any cap
            estimated_time = float("inf")
    if estimated_time is not None and estimated_time != estimated_time:
        estimated_time = None  # NaN
    return text, estimated_time


def error_for_status(
    status: int, headers: Mapping[str, str], body: bytes, *, url: str, source: object
) -> APIError:
    """The error a non-2xx answer stands for, with its status, request id and message."""
    message, estimated_time = _error_body(body)
    rid = request_id(headers)

    def make(kind: type[APIError], text: str) -> APIError:
        return kind(text, source=source, status_code=status, request_id=rid, server_message=message)

    if status == 401:
        return make(
            AuthenticationError,
            "the token was refused as invalid or expired (401); create a new one at "
            "https://huggingface.co/settings/tokens and pass token=... or set HF_TOKEN",
        )
    if status == 403:
        return make(
            AuthenticationError,
            "the token is valid but not allowed to call this model (403); give it the "
            '"Make calls to Inference Providers" permission at '
            "https://huggingface.co/settings/tokens, or check your access to the endpoint",
        )
    if status == 404:
        return make(
            ModelNotFoundError,
            f"the model is not deployed at {url} (404); deploy it on a dedicated Inference "
            "Endpoint and pass endpoint_url=..., or run it locally with "
            "segformer_clothes.LocalSegmenter",
        )
    if status == 408:
        return make(RequestTimeoutError, "the server timed out waiting for the request (408)")
    if status == 429:
        return RateLimitError(
            "too many requests (429); lower requests_per_minute or max_concurrency",
            retry_after=retry_after_from_headers(headers),
            source=source,
            status_code=status,
            request_id=rid,
            server_message=message,
        )
    if status == 503 and (estimated_time is not None or "loading" in (message or "").lower()):
        return ModelLoadingError(
            "the model is still loading on the server (503); try again in a minute",
            estimated_time=estimated_time,
            source=source,
            status_code=status,
            request_id=rid,
            server_message=message,
        )
    if status >= 500:
        return make(ServerError, f"the server failed ({status}); try again later")
    if status == 400:
        return make(
            BadRequestError,
            "the server rejected the request (400); check the image is a valid JPEG, PNG or "
            "WebP file",
        )
    if status == 413:
        return make(
            PayloadTooLargeError,
            "the image is larger than the server accepts (413); send it downscaled with "
            "max_side=..., or raise the server's size limit",
        )
    if status == 415:
        return make(
            UnsupportedMediaTypeError,
            "the server does not accept this type of image (415); send JPEG, PNG or WebP",
        )
    return make(BadRequestError, f"the server rejected the request ({status})")


def error_for_transport(
    error: Exception, *, url: str, source: object, redact: Callable[[str], str] = str
) -> SegformerClothesError:
    """The error a failed exchange stands for: a timeout, an answer too large or in a content
    encoding it does not have, or a network failure. ``redact`` blanks secrets out of the text
    of the httpx error, the only part of it kept."""
    name = type(error).__name__
    if isinstance(error, (httpx.TimeoutException, TimeoutError)):
        return RequestTimeoutError(
            f"no complete answer from {url} within the timeout ({name}); "
            "raise timeout=... if the model is slow",
            source=source,
        )
    if isinstance(error, AnswerTooLarge):
        return ResponseFormatError(
            f"the answer from {url} is larger than max_answer_bytes ({error.limit} bytes); "
            "raise max_answer_bytes=... if such answers are expected",
            source=source,
        )
    detail = redact(str(error))[:_MESSAGE_CHARS]
    if isinstance(error, httpx.DecodingError):
        return ResponseFormatError(
            f"the answer from {url} does not decode in the content encoding it names "
            f"({detail}); the server or a proxy on the way is misconfigured",
            source=source,
        )
    return NetworkError(
        f"the connection to {url} failed ({name}: {detail}); check the URL and the network",
        source=source,
    )


def check_answer(
    status: int, headers: Mapping[str, str], body: bytes, *, url: str, source: object
) -> Any:
    """The decoded JSON of a complete 200 answer (or its raw body when it is not JSON, for the
    parser to reject); raises the matching error for anything else.

    A 200 whose JSON stops before its end was cut short and is retried
    (`TruncatedResponseError`); a complete answer in the wrong format is left to the parser,
    which raises the not-retried `ResponseFormatError`. An empty 200 or a 204, JSON nested too
    deep to decode and numbers too long to read are `ResponseFormatError` here.
    """
    if not 200 <= status < 300:
        raise error_for_status(status, headers, body, url=url, source=source)
    if not body.strip():
        raise ResponseFormatError(
            f"{url} answered {status} with an empty body, not a list of label/mask items",
            source=source,
        )
    try:
        return json.loads(body)
    except RecursionError:
        raise ResponseFormatError(
            f"the answer from {url} is JSON nested too deep to read", source=source
        ) from None
    except json.JSONDecodeError as error:
        # Input that ends too early fails at its end, or inside a string never closed.
        if error.pos >= len(body.rstrip()) or error.msg.startswith("Unterminated string"):
            raise TruncatedResponseError(
                f"the answer from {url} was cut short ({len(body)} bytes of incomplete JSON)",
                status_code=status,
                request_id=request_id(headers),
                source=source,
            ) from None
        return body
    except UnicodeDecodeError:
        return body
    except ValueError as error:  # a number of thousands of digits, for one
        message = f"the answer from {url} is not readable JSON ({str(error)[:_MESSAGE_CHARS]})"
        raise ResponseFormatError(message, source=source) from None
