"""Every error the library raises, under one base class.

The tree::

    SegformerClothesError
    ├── SettingError             a setting is out of range (raised when it is given)
    ├── DuplicateNameError       two photos of one run would get the same output name
    ├── OutputLockedError        another run is writing to the output folder
    ├── InvalidImageError        the input is not a usable image (raised before any request)
    ├── ResponseFormatError      a complete answer that is not the documented format
    └── APIError                 the server or the network failed the request
        ├── AuthenticationError  401 (invalid token) or 403 (token lacks a permission)
        ├── ModelNotFoundError   404: the model is not deployed there
        ├── BadRequestError      another 4xx (for example 400: the server rejected the image)
        │   ├── PayloadTooLargeError      413: the image is larger than the server takes
        │   └── UnsupportedMediaTypeError 415: the server does not take that type of image
        ├── RateLimitError       429, still after the retries
        ├── ServerError          5xx, still after the retries
        │   └── ModelLoadingError  503 saying the model is loading
        ├── RequestTimeoutError  no answer within the timeout
        └── NetworkError         connection refused, reset or dropped
            ├── TruncatedResponseError    a 200 whose body was cut short
            └── EndpointUnreachableError  connections keep failing: the whole batch stops

Each error carries ``source`` (the input it is about, where known), and an `APIError`
carries ``status_code``, ``request_id`` and the server's ``message`` where there is one.
No error ever holds the token.

Example:
    >>> from segformer_clothes.errors import SegformerClothesError, RateLimitError
    >>> issubclass(RateLimitError, SegformerClothesError)
    True
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "DuplicateNameError",
    "EndpointUnreachableError",
    "InvalidImageError",
    "ModelLoadingError",
    "ModelNotFoundError",
    "NetworkError",
    "OutputLockedError",
    "PayloadTooLargeError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "SegformerClothesError",
    "ServerError",
    "SettingError",
    "TruncatedResponseError",
    "UnsupportedMediaTypeError",
]


class SegformerClothesError(Exception):
    """Base class of every error raised by segformer-clothes.

    Attributes:
        message: what went wrong and what to do about it.
        source: the input the error is about (a path or a short description), or None.
    """

    def __init__(self, message: str, *, source: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        return f"{self.message} (input: {self.source})"

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its attributes, not by calling __init__ again (whose keywords differ
        # from class to class): an error crosses processes whole, as from a cluster's worker.
        return (_restore, (type(self), self.args, self.__dict__))


class SettingError(SegformerClothesError, ValueError):
    """A setting is out of range or of the wrong kind, raised when it is given, before any work.

    Attributes:
        setting: the name of the setting, as the Python API spells it (``max_retries``).
        value: the value that was given.
        requirement: what the value must be, in words (``"a whole number, 0 or more"``).

    Example:
        >>> error = SettingError("max_retries", -1, "a whole number, 0 or more")
        >>> str(error)
        'max_retries must be a whole number, 0 or more, got -1'
    """

    def __init__(self, setting: str, value: object, requirement: str) -> None:
        super().__init__(f"{setting} must be {requirement}, got {value!r}")
        self.setting = setting
        self.value = value
        self.requirement = requirement


class DuplicateNameError(SegformerClothesError, ValueError):
    """Two photos of one catalogue run would get the same output name, so one would overwrite
    the other; raised before any work. The message names both photos.

    Attributes:
        name: the output name they share.
        first: the first photo with that name.
        second: the other one.
    """

    def __init__(self, name: str, first: object, second: object) -> None:
        super().__init__(
            f"{first} and {second} would both be written as {name!r}: give them different file "
            "names, segment them into different output folders, or give their common parent "
            "folder instead, so that each keeps its own path"
        )
        self.name = name
        self.first = first
        self.second = second


class OutputLockedError(SegformerClothesError):
    """Another run holds the lock of the output folder (one writer per folder)."""


class InvalidImageError(SegformerClothesError, ValueError):
    """The input is not an image that can be sent: missing, empty, truncated, not an image,
    or a decompression bomb. Raised before any request is made."""


class ResponseFormatError(SegformerClothesError, ValueError):
    """The server's answer was complete but is not the documented format
    (not a JSON list of ``{"label", "mask"}`` items, a bad mask, an unknown label...)."""


class APIError(SegformerClothesError):
    """The request failed at the server or on the way to it.

    Attributes:
        status_code: the HTTP status, or None when no answer came.
        request_id: the ``x-request-id`` / ``x-inference-id`` header, where there was one.
        server_message: the ``error`` field of the answer's JSON body, where there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        source: object = None,
        status_code: int | None = None,
        request_id: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, source=source)
        self.status_code = status_code
        self.request_id = request_id
        self.server_message = server_message

    def __str__(self) -> str:
        parts = [self.message]
        if self.server_message and self.server_message not in self.message:
            parts.append(f"server said: {self.server_message}")
        if self.status_code is not None:
            parts.append(f"status {self.status_code}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.source is not None:
            parts.append(f"input: {self.source}")
        return f"{parts[0]} ({'; '.join(parts[1:])})" if len(parts) > 1 else parts[0]


class AuthenticationError(APIError):
    """401: the token is missing or invalid; 403: the token lacks the "Inference Providers"
    permission (or access to this endpoint). The message says which."""


class ModelNotFoundError(APIError):
    """404: the model is not deployed where the request went. Point ``endpoint_url`` at a
    dedicated Inference Endpoint, or run the model locally with `LocalSegmenter`."""


class BadRequestError(APIError):
    """A 4xx other than 401, 403, 404, 408 and 429: the server rejected the request."""


class PayloadTooLargeError(BadRequestError):
    """413: the image is larger than the server accepts. Never retried: the same bytes are
    refused again. Send it downscaled (``max_side=`` of the client) or raise the server's limit
    (``segformer-clothes serve --max-body-mb``)."""


class UnsupportedMediaTypeError(BadRequestError):
    """415: the server does not accept the request's ``Content-Type``. Never retried. The client
    sends JPEG, PNG and WebP as they are and converts other formats to PNG, so this comes from
    a server that takes fewer types than the client sends, or from a request sent by hand."""


class RateLimitError(APIError):
    """429 Too Many Requests, still after the retries.

    Attributes:
        retry_after: the seconds the server asked to wait, where it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(APIError):
    """A 5xx answer (503 overloaded included), still after the retries."""


class ModelLoadingError(ServerError):
    """503 saying the model is loading, still after the retries.

    Attributes:
        estimated_time: the seconds the server estimated the loading would take.
    """

    def __init__(
        self, message: str, *, estimated_time: float | None = None, **kwargs: object
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.estimated_time = estimated_time


class RequestTimeoutError(APIError):
    """No answer came within the client's ``timeout`` (or a 408 from the server)."""


class NetworkError(APIError):
    """The connection was refused, reset or dropped before a complete answer came."""


class TruncatedResponseError(NetworkError):
    """A 200 whose body was cut short (not complete JSON): retried like a dropped connection."""


class EndpointUnreachableError(NetworkError):
    """Connections to the endpoint failed too many times in a row (DNS, refused, TLS, no answer
    to connect), across every photo of the client: the URL is wrong or the server is down.

    It ends a batch even with ``return_exceptions=True``, since every photo left would fail the
    same way. The message names the URL and the last cause.

    Attributes:
        failures: the consecutive connection failures counted.
    """

    def __init__(self, message: str, *, failures: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.failures = failures


def _restore(
    cls: type[SegformerClothesError], args: tuple[object, ...], state: dict[str, object]
) -> SegformerClothesError:
    """An unpickled error: the same class, arguments and attributes."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
