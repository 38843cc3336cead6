"""`DynamicBatcher`: photos of concurrent requests gathered into one ``segment_batch`` call."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import attrs
from PIL import Image

from ..backends.protocol import Outcome
from ._metrics import ServeMetrics

__all__ = ["DynamicBatcher"]

logger = logging.getLogger(__name__)

BatchFunction = Callable[[Sequence[Image.Image]], list[Outcome]]


@attrs.define
class _Job:
    photo: Image.Image
    outcome: asyncio.Future[Outcome]


class DynamicBatcher:
    """Gather the photos of concurrent requests into batches for the model.

    The first photo to arrive opens a batch; others join it until it holds ``max_batch_size``
    photos or ``max_wait`` seconds have passed since it opened. The batch then runs in
    ``executor`` (one thread: the model runs one batch at a time), while the event loop goes
    on admitting, decoding and encoding. Photos that arrive while a batch runs wait for the
    next one, which opens as soon as the model is free.

    Args:
        segment_batch: the model: photos in, one outcome per photo out, in order.
        max_batch_size: the most photos of one call.
        max_wait: seconds a batch waits to fill.
        executor: where the model runs.
        metrics: the counters to keep.
    """

    def __init__(
        self,
        segment_batch: BatchFunction,
        *,
        max_batch_size: int,
        max_wait: float,
        executor: Executor,
        metrics: ServeMetrics,
    ) -> None:
        self._segment_batch = segment_batch
        self._max_batch_size = max_batch_size
        self._max_wait = max_wait
        self._executor = executor
        self._metrics = metrics
        self._jobs: collections.deque[_Job] = collections.deque()
        self._arrived = asyncio.Event()

    async def segment(self, photo: Image.Image) -> Outcome:
        """The outcome for one decoded photo, once its batch has run."""
        job = _Job(photo, asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self._metrics._enqueued()
        self._arrived.set()
        return await job.outcome

    async def run(self) -> None:
        """Run batches until cancelled; the photos still waiting then fail with the cancel."""
        try:
            while True:
                batch = await self._next_batch()
                await self._run_batch(batch)
        finally:
            while self._jobs:
                self._jobs.popleft().outcome.cancel()

    async def _next_batch(self) -> list[_Job]:
        while not self._jobs:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while len(self._jobs) < self._max_batch_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                break
        size = min(self._max_batch_size, len(self._jobs))
        return [self._jobs.popleft() for _ in range(size)]

    async def _run_batch(self, batch: list[_Job]) -> None:
        self._metrics._batch_started(len(batch))
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        photos = [job.photo for job in batch]
        try:
            outcomes = await loop.run_in_executor(self._executor, self._segment_batch, photos)
            if len(outcomes) != len(batch):
                raise RuntimeError(
                    f"the model gave {len(outcomes)} outcomes for a batch of {len(batch)} photos"
                )
        except Exception as error:  # the whole batch failed (out of memory, a bug): say so
            logger.exception("a batch of %d photos failed", len(batch))
            for job in batch:
                if not job.outcome.done():
                    job.outcome.set_exception(error)
            return
        finally:
            self._metrics._batch_finished(time.perf_counter() - started)
        for job, outcome in zip(batch, outcomes, strict=True):
            if not job.outcome.done():  # its request may have gone (client disconnected)
                job.outcome.set_result(outcome)
