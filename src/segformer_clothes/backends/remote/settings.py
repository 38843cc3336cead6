"""`ClientSettings`: the client's tunable settings, their defaults and their checks, in one place.

`SegformerClothesClient` takes these as keywords and checks them here; the command line
(``segformer-clothes segment``) takes its defaults from ``attrs.fields(ClientSettings)`` and
reports the same checks in its own terms (``--max-retries must be ...``), so a default or a rule
is written once.

Example:
    >>> ClientSettings().max_retries
    10
    >>> ClientSettings(max_retries=-1)
    Traceback (most recent call last):
    ...
    segformer_clothes.errors.SettingError: max_retries must be a whole number, 0 or more, got -1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ...errors import SettingError
from .retry import DEFAULT_MAX_RETRIES

__all__ = ["ClientSettings"]


def _check(requirement: str, accept: Callable[[Any], bool]) -> Callable[[Any, Any, Any], None]:
    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not accept(value):
            raise SettingError(attribute.name, value, requirement)

    return validate


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_positive_seconds = _check("a positive number of seconds", lambda v: _number(v) and v > 0)
_retries = _check("a whole number, 0 or more", lambda v: _whole(v) and v >= 0)
_at_least_one = _check("a whole number, 1 or more", lambda v: _whole(v) and v >= 1)
# The two settings None turns off say only what a number must be: "or None" would read wrong
# on the command line, where such an option is left out instead.
_rate = _check(
    "a positive number of requests per minute", lambda v: v is None or (_number(v) and v > 0)
)
_seconds_or_zero = _check("a number of seconds, 0 or more", lambda v: _number(v) and v >= 0)
_failures = _check(
    "a whole number of failures, 1 or more", lambda v: v is None or (_whole(v) and v >= 1)
)
_pixels = _check(
    "a whole number of pixels, 1 or more", lambda v: v is None or (_whole(v) and v >= 1)
)


@attrs.frozen(kw_only=True)
class ClientSettings:
    """How the client sends: timeouts, retries, concurrency, pace and photo size.

    Attributes:
        timeout: seconds to wait for one answer (the model can be slow on a cold start).
        max_retries: retries of a transient failure per photo; 0 turns retries off. A 429 that
            says how long to wait does not count. The default, 10, loses about one photo in
            500,000 when 30% of requests fail.
        max_concurrency: requests in flight at once in a batch.
        requests_per_minute: the rate limit to keep to; None learns it from 429 answers.
        max_side: downscale photos whose longer side exceeds this many pixels before upload
            (the label map comes back at the photo's size); None sends photos as they are.
        max_server_wait: the longest wait a server may ask for, in seconds (``Retry-After``,
            ``estimated_time``, and the rate limiter's pause learned from them); longer asks
            are cut to this.
        deadline: the most seconds one photo may take, every attempt and wait included (the
            rate limiter's pause too); past it the photo fails with its last error.
        max_connection_failures: consecutive connection failures (DNS, refused, TLS, connect
            timeout), across every photo, after which the client raises
            `EndpointUnreachableError` and a batch stops; None never stops.
        max_answer_bytes: the largest answer read, after decompression; a larger one is a
            `ResponseFormatError`, so a hostile answer costs bounded memory.

    Raises:
        SettingError: a value is out of range; the message names the setting and the rule.
    """

    timeout: float = attrs.field(default=120.0, validator=_positive_seconds)
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_retries)
    max_concurrency: int = attrs.field(default=4, validator=_at_least_one)
    requests_per_minute: float | None = attrs.field(default=None, validator=_rate)
    max_side: int | None = attrs.field(default=None, validator=_pixels)
    max_server_wait: float = attrs.field(default=60.0, validator=_seconds_or_zero)
    deadline: float = attrs.field(default=600.0, validator=_positive_seconds)
    max_connection_failures: int | None = attrs.field(default=20, validator=_failures)
    max_answer_bytes: int = attrs.field(default=256 * 2**20, validator=_at_least_one)
