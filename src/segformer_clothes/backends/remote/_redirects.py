"""One attempt's requests: the first to the endpoint, then one per redirect, each with the
headers (and token) its URL may get, and the answer read to its end."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import httpx

from ...errors import NetworkError, SegformerClothesError
from ._answers import error_for_transport

__all__ = ["MAX_REDIRECTS", "Answer", "Hops"]

MAX_REDIRECTS = 5


@attrs.frozen
class Answer:
    """One HTTP exchange, read to its end."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    sent_at: float


class Hops:
    """The requests of one attempt, following redirects up to `MAX_REDIRECTS`.

    Args:
        url: the endpoint.
        headers_for: the headers a request to a URL gets (the token only where it may go).
        sent_at: when the attempt was booked by the rate limiter.
        count_request: called once per request sent.
        source: the photo, for errors.
    """

    def __init__(
        self,
        url: httpx.URL,
        headers_for: Callable[[httpx.URL], dict[str, str]],
        sent_at: float,
        count_request: Callable[[], None],
        source: object,
    ) -> None:
        self._url = url
        self._headers_for = headers_for
        self._sent_at = sent_at
        self._count_request = count_request
        self._source = source
        self._hops = 0

    def next_request(self) -> tuple[httpx.URL, dict[str, str]]:
        if self._hops > MAX_REDIRECTS:
            raise NetworkError(
                f"more than {MAX_REDIRECTS} redirects, the last to {self._url}; check endpoint_url",
                source=self._source,
            )
        self._hops += 1
        self._count_request()
        return self._url, self._headers_for(self._url)

    def answer(self, response: httpx.Response) -> Answer | None:
        """The answer, or None when the response redirects elsewhere (then send again)."""
        if response.has_redirect_location:
            self._url = self._url.join(response.headers["location"])
            return None
        return Answer(
            response.status_code,
            response.headers,
            response.content,
            str(self._url),
            self._sent_at,
        )

    def failure(self, error: httpx.TransportError) -> SegformerClothesError:
        return error_for_transport(error, url=str(self._url), source=self._source)
