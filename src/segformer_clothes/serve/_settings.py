"""`ServeSettings`: how the server batches, bounds its queue, limits bodies and checks tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ..errors import SettingError

__all__ = ["ACCEPTED_TYPES", "INSTALL_COMMAND", "ServeSettings"]

INSTALL_COMMAND = 'pip install "segformer-clothes[serve]"'
"""The command that installs what the server needs (starlette and uvicorn)."""

ACCEPTED_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/gif",
    "image/tiff",
    "application/json",
)
"""The ``Content-Type`` values a request may have. The images are decoded with Pillow (EXIF
orientation applied); ``application/json`` is a body ``{"inputs": "<base64 image>"}``, which
``huggingface_hub.InferenceClient`` sends when it is given parameters. Any other type is
answered 415, a request without one 400."""


_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _whole(minimum: int) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _setting_error(attribute.name, value, f"a whole number, {minimum} or more")

    return check


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _setting_error(attribute.name, value, "a number of seconds above 0")


def _not_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise _setting_error(attribute.name, value, "a number, 0 or more")


def _setting_error(name: str, value: object, requirement: str) -> SettingError:
    return SettingError(name, value, requirement)


def _token(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        # Never the value itself: it is a secret.
        raise _setting_error(attribute.name, "<hidden>", "None or a non-empty string")


@attrs.frozen
class ServeSettings:
    """How `SegmentationServer` batches photos, bounds its queue and checks requests.

    Attributes:
        max_batch_size: the most photos gathered into one ``segment_batch`` call.
        max_wait_ms: how long the first photo of a batch waits for others to join it, in
            milliseconds (0: take what has arrived, never wait).
        max_queue: the most requests admitted at once (being decoded, waiting for the model, in
            it, or being encoded); one more is answered 429 with ``Retry-After``. It bounds the
            memory the server holds.
        max_body_bytes: the largest request body taken, in bytes (20 MiB by default); a larger
            one is answered 413 without being read.
        token: when set, every request but ``/health`` must carry ``Authorization: Bearer
            <token>`` (401 otherwise); compared in constant time, never logged or shown.
        pixel_threads: the threads that decode photos and encode answers, beside the one that
            runs the model, so the model never waits on image work.
        load_estimate: the seconds the model is expected to take to load; while it loads,
            requests are answered 503 with the seconds left of it as ``estimated_time``.
        shutdown_timeout: on SIGTERM or Ctrl-C, the most seconds to wait for requests in flight
            before they are cancelled.

    Raises:
        SettingError: a value out of range (a `ValueError`), named in the message.

    Example:
        >>> ServeSettings(max_batch_size=16).max_batch_size
        16
        >>> ServeSettings(max_queue=0)
        Traceback (most recent call last):
        ...
        segformer_clothes.errors.SettingError: max_queue must be a whole number, 1 or more, got 0
    """

    max_batch_size: int = attrs.field(default=8, validator=_whole(1))
    max_wait_ms: float = attrs.field(default=20.0, validator=_not_negative)
    max_queue: int = attrs.field(default=64, validator=_whole(1))
    max_body_bytes: int = attrs.field(default=20 * 2**20, validator=_whole(1))
    token: str | None = attrs.field(default=None, repr=False, validator=_token)
    pixel_threads: int = attrs.field(default=4, validator=_whole(1))
    load_estimate: float = attrs.field(default=30.0, validator=_positive)
    shutdown_timeout: float = attrs.field(default=60.0, validator=_positive)
