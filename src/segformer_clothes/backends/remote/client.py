"""`SegformerClothesClient`: segment photos through the Hugging Face Inference API, a dedicated
Inference Endpoint, or any server that speaks the same protocol.

One photo with `SegformerClothesClient.segment` (or ``await asegment``); a catalogue with
`SegformerClothesClient.segment_many` (or ``async for ... in asegment_many``), in input order,
a bounded number of requests at a time, rate limited, with transient faults retried.

Request building and answer parsing are written once; the sync and async paths differ only in
how they send and wait.

Example:
    >>> from PIL import Image
    >>> from segformer_clothes.testing import FakeInferenceServer
    >>> with FakeInferenceServer() as server:
    ...     with SegformerClothesClient(endpoint_url=server.url) as client:
    ...         result = client.segment(Image.new("RGB", (60, 90), "navy"))
    >>> result.size
    (60, 90)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
import httpx

from ..._version import __version__
from ...errors import AuthenticationError, SegformerClothesError, SettingError
from ...images import ImageInput, Upload, prepare_upload
from ...labels import CLOTHES_LABELS, LabelSet
from ...result import SegmentationResult
from ..base import BaseSegmenter, ChunkWorker
from ..protocol import Outcome, source_of
from ._answers import check_answer
from ._pools import Pools
from ._redirects import EXCHANGE_FAILURES, Answer, Exchange, Hops
from ._steps import AsyncSteps, Call, Plan, Reply, Sleep, SyncSteps
from .auth import Credentials, Secrets, checked_headers, display_url, is_huggingface_host
from .ratelimit import RateLimiter
from .retry import PastDeadline, RetryPolicy, retry_after_from_headers, retrying
from .settings import ClientSettings
from .stats import ClientStats, Counters

__all__ = ["DEFAULT_MODEL", "ClientStats", "SegformerClothesClient"]

logger = logging.getLogger("segformer_clothes")

DEFAULT_MODEL = "sayeed99/segformer_b3_clothes"
"""The model the client calls unless told otherwise."""

_ROUTER = "https://router.huggingface.co/hf-inference/models/{model}"
_USER_AGENT = f"segformer-clothes/{__version__}"

_DEFAULTS = ClientSettings()
DEFAULT_MAX_ANSWER_BYTES = _DEFAULTS.max_answer_bytes
"""The largest answer the client reads, after decompression: 256 MiB, some fifty times the
answer for a 4000x6000 photo."""


class SegformerClothesClient(BaseSegmenter):
    """A client for the SegFormer clothes model behind an HTTP inference API.

    Args:
        model: the model id on the Hugging Face Hub, used to build the serverless URL.
        endpoint_url: the full URL to POST to instead (a dedicated Inference Endpoint or your
            own server); used as is.
        token: the access token. Defaults to ``HF_TOKEN``, then ``HF_API_TOKEN``, then the
            Hugging Face token file; a token found that way is sent only to Hugging Face hosts,
            an explicit one wherever the client posts.
        timeout: seconds to wait for one answer, the whole of it: a server that trickles its
            answer a byte at a time gets a `RequestTimeoutError` after about this long.
        max_retries: retries of a transient failure per image; 0 turns retries off. A 429 that
            says how long to wait does not count. The default, 10, loses about one image in
            500,000 when 30% of requests fail; backoff is capped at 8 s and each image has
            at most 10 minutes in all.
        max_concurrency: requests in flight at once in `segment_many` / `asegment_many`.
        requests_per_minute: the rate limit to keep to; None learns it from 429 answers.
        max_side: downscale photos whose longer side exceeds this many pixels before upload;
            the label map is brought back to the photo's size. None sends photos as they are.
        headers: extra HTTP headers for every request to the endpoint; like the token, they
            do not follow a redirect to another origin, and their values are blanked out of
            error messages.
        labels: the model's labels, when they are not the 18 clothes classes.
        http_client: an `httpx.Client` to send with (proxies, TLS, transports); not closed by
            the client.
        async_http_client: an `httpx.AsyncClient` for the async methods; not closed by the
            client.
        max_answer_bytes: the largest answer to read, in bytes after decompression (a gzip
            bomb stops there); a larger one is a `ResponseFormatError`. 256 MiB by default.
        max_server_wait: the longest wait a server may ask for (``Retry-After``,
            ``estimated_time``, the rate limiter's learned pause), in seconds; 60 by default.
        deadline: the most seconds one photo may take, all attempts and waits together (the
            rate limiter's pause included); 600 by default.
        max_connection_failures: connection failures in a row (DNS, refused, TLS, connect
            timeout) across every photo before the client raises `EndpointUnreachableError`,
            which ends a batch even with ``return_exceptions=True``; 20 by default, None never.

    Raises:
        SettingError: a setting is out of range (a `ValueError`); the message says which. The
            settings, their defaults and their rules are `ClientSettings`, also readable as
            ``client.settings``. A token or a header value with a newline, a NUL or a non-ASCII
            character is refused this way too, and the message does not show it.

    Example:
        >>> client = SegformerClothesClient(endpoint_url="http://127.0.0.1:8080/", token="hf_x")
        >>> client
        SegformerClothesClient(url='http://127.0.0.1:8080/', token='[secure]')
        >>> client.close()
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        endpoint_url: str | None = None,
        token: str | None = None,
        timeout: float = _DEFAULTS.timeout,
        max_retries: int = _DEFAULTS.max_retries,
        max_concurrency: int = _DEFAULTS.max_concurrency,
        requests_per_minute: float | None = None,
        max_side: int | None = None,
        headers: Mapping[str, str] | None = None,
        labels: LabelSet | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        max_server_wait: float = _DEFAULTS.max_server_wait,
        deadline: float = _DEFAULTS.deadline,
        max_connection_failures: int | None = _DEFAULTS.max_connection_failures,
    ) -> None:
        settings = ClientSettings(
            timeout=timeout,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
            max_side=max_side,
            max_server_wait=max_server_wait,
            deadline=deadline,
            max_connection_failures=max_connection_failures,
            max_answer_bytes=max_answer_bytes,
        )
        self.settings = settings
        self.model = model
        self.url = httpx.URL(endpoint_url or _ROUTER.format(model=model))
        if self.url.scheme not in ("http", "https"):
            raise SettingError("endpoint_url", display_url(self.url), "an http(s) URL")
        self.max_answer_bytes = max_answer_bytes
        self.timeout = float(settings.timeout)
        self.max_concurrency = settings.max_concurrency
        self._concurrency = settings.max_concurrency  # photos in flight (one per chunk)
        self.max_side = settings.max_side
        self.labels = CLOTHES_LABELS if labels is None else labels
        self._credentials = Credentials.resolve(token, self.url)
        self._extra_headers = checked_headers(headers)
        self._secrets = Secrets.of(self._credentials, self._extra_headers, self.url)
        self._policy = RetryPolicy(
            max_retries=settings.max_retries,
            max_server_wait=settings.max_server_wait,
            deadline=settings.deadline,
        )
        self._limiter = RateLimiter(
            settings.requests_per_minute, max_pause=self._policy.max_server_wait
        )
        self._pools = Pools(self.timeout, http_client, async_http_client)
        self._counters = Counters()
        # Tests swap these for fakes: no real sleeping in unit tests.
        self._sleep: Callable[[float], None] = time.sleep
        self._async_sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def __repr__(self) -> str:
        token = "None" if self._credentials.token is None else "'[secure]'"
        return f"SegformerClothesClient(url={display_url(self.url)!r}, token={token})"

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the HTTP clients this client opened (not the ones it was given)."""
        self._pools.close()

    async def aclose(self) -> None:
        """Close every HTTP client this client opened, sync and async."""
        await self._pools.aclose()

    @property
    def stats(self) -> ClientStats:
        """Counters of requests, retries, 429 answers, and images done or given up on."""
        return self._counters.snapshot()

    @property
    def requests_per_minute(self) -> float | None:
        """The pace the client keeps to now (told, or learned from 429s); None while unknown."""
        rate = self._limiter.rate
        return None if rate is None else rate * 60

    # ----------------------------------------------------------------- one place for the rules

    def _check_can_send(self, source: object) -> None:
        if self._credentials.token is None and is_huggingface_host(self.url.host):
            raise AuthenticationError(
                "no Hugging Face token found: pass token=..., set HF_TOKEN, or run "
                "`hf auth login`; create one at https://huggingface.co/settings/tokens with "
                'the "Make calls to Inference Providers" permission. To use your own server, '
                "pass endpoint_url=...",
                source=source,
            )

    def _prepare(self, image: ImageInput, source: object) -> Upload:
        self._check_can_send(source)
        try:
            return prepare_upload(image, max_side=self.max_side)
        except SegformerClothesError as error:
            error.source = source  # the input as the caller gave it (a Path stays a Path)
            raise

    def _request_headers(self, url: httpx.URL, upload: Upload) -> dict[str, str]:
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if self._credentials.same_origin(url):  # the caller's headers may hold a key
            headers.update(self._extra_headers)
        headers["Content-Type"] = upload.mime
        authorization = self._credentials.authorization_for(url)
        if authorization is not None:
            headers["Authorization"] = authorization
        return headers

    def _finish(
        self, answer: Answer, image: ImageInput, upload: Upload, source: object
    ) -> SegmentationResult:
        """Check one answer and parse it (in a worker thread on the async path)."""
        if answer.status == 429:
            self._counters.add("rate_limited")
            self._limiter.on_rate_limited(retry_after_from_headers(answer.headers), answer.sent_at)
        else:
            self._limiter.on_success()
        payload = check_answer(
            answer.status, answer.headers, answer.body, url=answer.url, source=source
        )
        try:
            return SegmentationResult.from_response(
                payload,
                image=_keepable(image, upload),
                size=upload.size,
                labels=self.labels,
                source=source,
            )
        except SegformerClothesError as error:
            if error.source is None:
                error.source = source
            raise

    def _on_retry(self) -> None:
        self._counters.add("retries")

    def _done(self, error: Exception | None) -> None:
        self._counters.add("failed" if error is not None else "succeeded")

    # ----------------------------------------------------------------- one photo, as steps

    def _plan(self, image: ImageInput) -> Plan[SegmentationResult]:
        """Everything one photo needs, written once for the sync and async drivers: read it,
        then send it (following redirects) until an answer parses or the retries run out."""
        source = source_of(image)
        pending_sleeps: list[float] = []  # tenacity's waits, slept by the driver
        deadline = time.monotonic() + self._policy.deadline
        try:
            upload: Upload = yield Call(self._prepare, (image, source))
            for attempt in retrying(self._policy, source, pending_sleeps.append, self._on_retry):
                with attempt:
                    if pending_sleeps:
                        yield Sleep(pending_sleeps.pop())
                    answer = yield from self._exchange(upload, source, deadline)
                    result: SegmentationResult = yield Call(
                        self._finish, (answer, image, upload, source)
                    )
        except Exception as error:  # cancellation is not a failure of the photo
            self._done(error)
            raise
        self._done(None)
        return result

    def _exchange(self, upload: Upload, source: object, deadline: float) -> Plan[Answer]:
        left = deadline - time.monotonic()
        delay = self._limiter.reserve(within=left)
        if delay is None:
            # Not even the server's own pace may hold a photo past its deadline.
            raise PastDeadline(
                f"the rate limit ({self.requests_per_minute or 0:.3g} requests/minute) would "
                f"hold this photo past its {self._policy.deadline:g} s deadline; lower "
                "max_concurrency or split the batch",
                source=source,
            )
        if delay > 0:
            logger.debug(
                "waiting %.3f s for the rate limit",
                delay,
                extra={"wait_seconds": delay, "wait_reason": "keeping to the rate limit"},
            )
            yield Sleep(delay)
        hops = Hops(
            self.url,
            functools.partial(self._request_headers, upload=upload),
            Exchange(self._credentials, self._secrets, self.timeout, self.max_answer_bytes),
            self._limiter.sent_at(),
            functools.partial(self._counters.add, "requests"),
            source,
        )
        while True:
            try:
                reply: Reply = yield hops.next_request(upload.data)
            except EXCHANGE_FAILURES as error:
                failure = self._counters.unreachable_after(
                    hops.failure(error), error, display_url(self.url), self.settings
                )
            else:
                self._counters.connected()
                answer = hops.answer(reply)
                if answer is None:
                    continue
                return answer
            # Raised outside the except block: the httpx error (and its request, which holds
            # the token) must not ride along as __context__.
            raise failure

    # ----------------------------------------------------------------- the backend hooks

    def segment(self, image: ImageInput) -> SegmentationResult:
        """Segment one photo.

        Args:
            image: a path, encoded bytes, a binary file, a PIL image or a numpy array.

        Returns:
            The result, at the photo's size as people see it (EXIF orientation applied).

        Raises:
            InvalidImageError: the input is not a usable image (before any request).
            APIError: the request failed after its retries (a subclass says how).
            ResponseFormatError: the server answered something else than the documented format.

        Example:
            >>> from PIL import Image
            >>> from segformer_clothes.testing import FakeInferenceServer
            >>> with FakeInferenceServer() as server, SegformerClothesClient(
            ...     endpoint_url=server.url
            ... ) as client:
            ...     client.segment(Image.new("RGB", (40, 80), "white")).labels_present
            ('Background',)
        """
        return SyncSteps(self._pools.sync(), self._sleep).run(self._plan(image))

    async def _achunk(self, http: httpx.AsyncClient, images: list[ImageInput]) -> list[Outcome]:
        steps = AsyncSteps(http, self._async_sleep)
        outcomes: list[Outcome] = []
        for image in images:
            try:
                outcomes.append(await steps.run(self._plan(image)))
            except SegformerClothesError as error:
                outcomes.append(error)
        return outcomes

    def _worker(self) -> ChunkWorker:
        return functools.partial(self._achunk, self._pools.for_running_loop())

    @contextlib.asynccontextmanager
    async def _own_loop_worker(self) -> AsyncIterator[ChunkWorker]:
        # Our own async pool belongs to the caller's event loop, if any: a sync batch's loop
        # gets a pool of its own. A pool that was given is used as given.
        given = self._pools.given_async()
        http = given or self._pools.new_async()
        try:
            yield functools.partial(self._achunk, http)
        finally:
            if http is not given:
                await http.aclose()


def _keepable(image: ImageInput, upload: Upload) -> ImageInput | None:
    """What the result may keep of the photo for overlays: the input itself, unless it was a
    file object already read (then the bytes sent, when they are the photo at full size)."""
    if hasattr(image, "read"):
        return upload.data if upload.size == upload.sent_size else None
    return image
