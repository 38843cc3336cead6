"""One attempt's requests: the first to the endpoint, then one per redirect, each with the
headers (and token) its URL may get, and the answer read to its end with every secret blanked.

A redirect to another origin (scheme, host or port) carries no credential at all. A redirect
loop, more than `MAX_REDIRECTS` hops, a redirect without a usable ``Location`` or to a scheme
other than http(s) is a `ResponseFormatError`: the server answered, and retrying would get the
same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import httpx

from ...errors import ResponseFormatError, SegformerClothesError
from ._answers import error_for_transport
from ._body import AnswerTooLarge
from ._steps import Post, Reply
from .auth import Credentials, Secrets, display_url

__all__ = ["EXCHANGE_FAILURES", "MAX_REDIRECTS", "REDIRECT_STATUSES", "Answer", "Hops"]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# What sending a `Post` may raise into the plan; `Hops.failure` makes each a library error.
EXCHANGE_FAILURES = (
    httpx.HTTPError,
    httpx.StreamError,
    httpx.InvalidURL,
    AnswerTooLarge,
    TimeoutError,
    UnicodeError,
)


@attrs.frozen
class Answer:
    """One HTTP exchange, read to its end, with the client's secrets blanked out of it."""

    status: int
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=False)
    url: str
    sent_at: float


@attrs.frozen
class Exchange:
    """What one attempt needs to know besides the URL: where credentials may go, how to
    blank secrets, and the limits of each request."""

    credentials: Credentials
    secrets: Secrets
    timeout: float
    max_bytes: int


class Hops:
    """The requests of one attempt, following redirects up to `MAX_REDIRECTS`.

    Args:
        url: the endpoint.
        headers_for: the headers a request to a URL gets (credentials only where they may go).
        exchange: the credentials, secrets and limits of the client.
        sent_at: when the attempt was booked by the rate limiter.
        count_request: called once per request sent.
        source: the photo, for errors.
    """

    def __init__(
        self,
        url: httpx.URL,
        headers_for: Callable[[httpx.URL], dict[str, str]],
        exchange: Exchange,
        sent_at: float,
        count_request: Callable[[], None],
        source: object,
    ) -> None:
        self._url = url
        self._headers_for = headers_for
        self._exchange = exchange
        self._sent_at = sent_at
        self._count_request = count_request
        self._source = source
        self._seen: list[httpx.URL] = []

    def _refuse(self, what: str) -> ResponseFormatError:
        return ResponseFormatError(
            self._exchange.secrets.text(f"{what}; check endpoint_url"), source=self._source
        )

    def next_request(self, body: bytes) -> Post:
        """The next request to send."""
        if self._url in self._seen:
            trail = " -> ".join(display_url(url) for url in (*self._seen, self._url))
            raise self._refuse(f"the server redirects in a loop ({trail})")
        if len(self._seen) > MAX_REDIRECTS:
            raise self._refuse(
                f"more than {MAX_REDIRECTS} redirects, the last to {display_url(self._url)}"
            )
        self._seen.append(self._url)
        self._count_request()
        return Post(
            self._url,
            self._headers_for(self._url),
            body,
            timeout=self._exchange.timeout,
            max_bytes=self._exchange.max_bytes,
            foreign=not self._exchange.credentials.same_origin(self._url),
        )

    def answer(self, reply: Reply) -> Answer | None:
        """The answer, or None when the reply redirects elsewhere (then send again)."""
        secrets = self._exchange.secrets
        if 300 <= reply.status < 400:
            location = reply.headers.get("location")
            if reply.status not in REDIRECT_STATUSES or not location:
                raise self._refuse(
                    f"{display_url(self._url)} answered {reply.status} (a redirect) without a "
                    "Location header to follow"
                )
            try:
                target = self._url.join(location)
            except httpx.InvalidURL:
                raise self._refuse(
                    f"{display_url(self._url)} redirects to an invalid URL"
                ) from None
            if target.scheme not in ("http", "https"):
                raise self._refuse(
                    f"{display_url(self._url)} redirects to a {target.scheme!r} URL, not http(s)"
                )
            self._url = target
            return None
        return Answer(
            reply.status,
            secrets.headers(reply.headers),
            secrets.body(reply.body),
            display_url(self._url),
            self._sent_at,
        )

    def failure(self, error: Exception) -> SegformerClothesError:
        return error_for_transport(
            error,
            url=display_url(self._url),
            source=self._source,
            redact=self._exchange.secrets.text,
        )
