"""One `segformer-clothes segment` run over a checked plan: the lock, the photos left to do,
their outputs and records, the summary, and the exit code."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..backends import Segmenter
from ..catalogue import EncodedOutputs, Photo, RecordLog, find_photos, read_records
from ..errors import (
    AuthenticationError,
    BadRequestError,
    EndpointUnreachableError,
    InvalidImageError,
    ModelNotFoundError,
    OutputLockedError,
    SegformerClothesError,
)
from ..outputs import OutputLock, sweep_temporary_files
from ..result import SegmentationResult
from ._errors import fail
from ._outputs import Outputs
from ._table import RunTable

__all__ = ["EXIT_CODES", "CatalogueRun", "Engine", "Finished", "UsageProblem", "is_permanent"]

EXIT_CODES = {
    0: "every photo done (now or before)",
    1: "some photos failed in a way a rerun may fix (network, 5xx, 429 after retries, timeouts)",
    2: "usage error (bad option, missing input, no token where one is needed), before any work",
    3: "the only failures left are photos that can never succeed",
    4: "another run holds the lock on the output folder",
    130: "interrupted (Ctrl-C)",
}

# Errors no retry or rerun can fix for any photo: the whole run stops on them.
FATAL_ERRORS = (AuthenticationError, ModelNotFoundError)
# Answers that say this photo will never be accepted, whatever a rerun does.
_PERMANENT_STATUSES = (400, 413, 415)
_FAILURES_SHOWN = 3

Finished = tuple[Photo, "EncodedOutputs | BaseException", float]
"""A photo, its encoded files or the error it failed with, and the seconds it took."""

Engine = Callable[[Iterator[Photo]], AbstractContextManager[Iterator[Finished]]]
"""How the photos left to do get segmented: given them (a stream), a context manager that
starts the backend and gives each photo finished, in any order, each photo once."""


class UsageProblem(Exception):
    """A problem with how the command was called, found late (creating the backend): the
    message is in the command's terms, and the exit code is 2."""


def is_permanent(error: BaseException) -> bool:
    """True for a photo that can never succeed: unreadable, or refused as such by the server."""
    if isinstance(error, InvalidImageError):
        return True
    return isinstance(error, BadRequestError) and error.status_code in _PERMANENT_STATUSES


class CatalogueRun:
    """The photos of a checked plan, segmented into an output folder held by this run alone.

    Args:
        args: the parsed options of ``segment``.
        outputs: where each photo's files go.
        make_segmenter: creates the backend; called only when some photo is left to do, so
            that a model is never loaded for nothing. Raises `UsageProblem` for a bad option.
        total: how many photos the inputs name.
        engine: how the photos are segmented; `on_this_machine` when left out. The files
            and records are written by `finish` whichever engine runs.
        photos: gives the photos of the plan, afresh at each call; those of ``args.inputs``
            when left out.
    """

    def __init__(
        self,
        args: Any,
        outputs: Outputs,
        make_segmenter: Callable[[], Segmenter],
        total: int,
        engine: Engine | None = None,
        photos: Callable[[], Iterable[Photo]] | None = None,
    ) -> None:
        self.args = args
        self.outputs = outputs
        self.make_segmenter = make_segmenter
        self.total = total
        self.engine: Engine = engine or self.on_this_machine
        self.photos = photos or (lambda: find_photos(args.inputs))
        self.results_path: Path = args.out / "results.jsonl"
        self.counts = {"done": 0, "skipped": 0, "failed": 0, "invalid": 0}
        self._segmenting = False
        self.failures: list[str] = []

    def finished_before(self, record: dict[str, Any] | None) -> str | None:
        """ "skipped" for a photo done before, "invalid" for one that can never succeed (unless
        --retry-invalid), None for a photo to do now."""
        if self.outputs.complete(record):
            return "skipped"
        if record is not None and record.get("status") == "invalid":
            return None if self.args.retry_invalid else "invalid"
        return None

    def run(self) -> int:
        """Take the lock, segment what is left, release the lock; returns the exit code."""
        existed = self.args.out.exists()
        lock = OutputLock(self.args.out)
        try:
            lock.acquire()
        except OutputLockedError as error:
            return fail("segment", error.message, 4)
        except OSError as error:
            return fail("segment", f"cannot create the --out folder {self.args.out}: {error}")
        try:
            sweep_temporary_files(self.args.out)
            code = self._segment(existed)
        finally:
            lock.release()
        if code == 2 and not existed and self.counts["done"] == 0:
            # A fatal error before any photo was done: leave nothing behind.
            shutil.rmtree(self.args.out, ignore_errors=True)
        return code

    def _segment(self, existed: bool) -> int:
        records = {} if self.args.no_resume else read_records(self.results_path)
        show_progress = not self.args.quiet and sys.stderr.isatty()
        progress = tqdm(
            total=self.total if show_progress else None,
            disable=not show_progress,
            unit="photo",
            dynamic_ncols=True,
        )

        def to_do() -> Iterator[Photo]:
            for photo in self.photos():
                before = self.finished_before(records.get(photo.name))
                if before is not None:
                    self.counts[before] += 1
                    progress.update(1)
                    continue
                yield photo

        started = time.perf_counter()
        created_results = not self.results_path.exists()
        library_log = logging.getLogger("segformer_clothes")
        waits = _WaitsOnProgress(progress)
        level = library_log.level
        library_log.addHandler(waits)
        library_log.setLevel(logging.DEBUG)  # the wait records are debug and info ones
        self._log = RecordLog(self.results_path)
        self._table = RunTable.for_run(self.args)  # --table: the garment table, photo by photo
        try:
            pending = to_do()
            first = next(pending, None)
            if first is not None:
                with self.engine(itertools.chain([first], pending)) as finished:
                    for photo, outcome, seconds in finished:
                        if isinstance(outcome, FATAL_ERRORS):
                            raise outcome
                        if not self._segmenting:
                            # Segmenting began when the first photo did: the backend's
                            # start-up (a model load, a cluster's actors) is left out.
                            self._segmenting = True
                            started = time.perf_counter() - seconds
                        self.finish(photo, outcome, seconds)
                        progress.update(1)
            self._table.finish()
        except KeyboardInterrupt:
            progress.close()
            print(
                f"\nInterrupted after {self.counts['done']} photos; every finished photo is "
                "saved. Run the same command again to resume.",
                file=sys.stderr,
            )
            return 130
        except EndpointUnreachableError as error:
            # A rerun may work once the server is up again (exit 1), but not the next photo.
            progress.close()
            return fail("segment", error.message, 1)
        except (SegformerClothesError, UsageProblem) as error:
            # No retry or rerun can fix these: a bad option, a missing or refused token, a
            # model not deployed.
            progress.close()
            self._log.close()
            if created_results and self.counts["done"] == 0 and existed:
                self.results_path.unlink(missing_ok=True)
            message = str(error) if isinstance(error, UsageProblem) else explain(error)
            return fail("segment", message)
        finally:
            library_log.removeHandler(waits)
            library_log.setLevel(level)
            self._log.close()
            self._table.close()
        progress.close()
        self._report(time.perf_counter() - started)
        if self.counts["failed"]:
            return 1
        return 3 if self.counts["invalid"] else 0

    @contextlib.contextmanager
    def on_this_machine(self, photos: Iterator[Photo]) -> Iterator[Iterator[Finished]]:
        """The default engine: the backend segments the photos here, in input order, and
        each result's files are encoded here."""
        in_flight: deque[tuple[Photo, float]] = deque()

        def inputs() -> Iterator[str]:
            for photo in photos:
                in_flight.append((photo, time.perf_counter()))
                # Absolute, as on a cluster: the label map's source and the errors name it so.
                yield os.path.abspath(photo.path)

        def finished(segmenter: Segmenter) -> Generator[Finished, None, None]:
            for outcome in segmenter.segment_many(inputs(), return_exceptions=True):
                photo, began = in_flight.popleft()
                encoded: EncodedOutputs | BaseException
                try:
                    if isinstance(outcome, SegmentationResult):
                        encoded = self.outputs.encode(photo.path, outcome)
                    else:
                        encoded = outcome
                except (OSError, ValueError, SegformerClothesError) as error:
                    encoded = error
                yield photo, encoded, time.perf_counter() - began

        with self.make_segmenter() as segmenter:
            stream = finished(segmenter)
            try:
                yield stream
            finally:
                stream.close()  # cancels what is in flight before the backend closes

    def finish(self, photo: Photo, outcome: EncodedOutputs | BaseException, seconds: float) -> None:
        """A photo finished, here or on a cluster: write its files, then its one record.

        The one place where a finished photo is written, whichever engine segmented it.
        """
        record: dict[str, Any] = {"input": str(photo.path), "name": photo.name}
        if isinstance(outcome, BaseException):
            self._failed(record, outcome)
        else:
            try:
                crops = self.outputs.write(photo.name, outcome)
            except OSError as error:
                self._failed(record, error)
            else:
                record.update(
                    status="ok",
                    width=outcome.width,
                    height=outcome.height,
                    labels=list(outcome.labels),
                    coverage=dict(outcome.coverage),
                    **({"crops": crops} if self.args.crops else {}),
                )
                self.counts["done"] += 1
                self._table.add(record)  # before the record: a rerun redoes the photo
        record["seconds"] = round(seconds, 3)
        self._log.write(record)

    def _failed(self, record: dict[str, Any], error: BaseException) -> dict[str, Any]:
        status = "invalid" if is_permanent(error) else "failed"
        self.counts[status] += 1
        if len(self.failures) < _FAILURES_SHOWN:
            self.failures.append(f"{record['input']}: {getattr(error, 'message', error)}")
        record.update(status=status, error=str(error), error_type=type(error).__name__)
        return record

    def _report(self, seconds: float) -> None:
        counts = self.counts
        summary = {
            **counts,
            "seconds": round(seconds, 3),
            "images_per_second": round(counts["done"] / seconds, 3) if seconds > 0 else 0.0,
            "out": os.fspath(self.args.out),
            "results": os.fspath(self.results_path),
        }
        text = (
            f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']}, "
            f"invalid {counts['invalid']} in {seconds:.1f} s "
            f"({summary['images_per_second']:.2f} images/s)"
        )
        if counts["failed"]:
            text += f"; failures are listed in {summary['results']}, rerun to retry them"
        elif counts["invalid"]:
            text += (
                f"; photos that can never succeed are listed in {summary['results']} "
                "(--retry-invalid tries them again)"
            )
        json_path = self.args.json
        stream = sys.stderr if json_path == "-" else sys.stdout
        print(text, file=stream)
        for failure in self.failures:
            print(f"  {failure}", file=stream)
        if json_path == "-":
            print(json.dumps(summary))
        elif json_path:
            Path(json_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


class _WaitsOnProgress(logging.Handler):
    """Shows on the progress bar when the client waits, and why (rate limit, server loading,
    connection problem), from the log records that carry a ``wait_reason``; warnings and
    errors are printed above the bar."""

    def __init__(self, progress: Any) -> None:
        super().__init__(level=logging.DEBUG)
        self._progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            tqdm.write(f"segformer-clothes segment: {record.getMessage()}", file=sys.stderr)
            return
        reason = getattr(record, "wait_reason", None)
        if reason is None or self._progress.disable:
            return
        seconds = float(getattr(record, "wait_seconds", 0.0))
        self._progress.set_postfix_str(f"waiting {seconds:.1f} s: {reason}", refresh=False)


def explain(error: SegformerClothesError) -> str:
    """A fatal error in the command's terms."""
    if isinstance(error, AuthenticationError) and getattr(error, "status_code", None) is None:
        return (
            "no Hugging Face token found. Set HF_TOKEN (or HF_API_TOKEN) in the environment or "
            "in a .env file in this folder (HF_TOKEN=hf_...); or point --endpoint-url at your "
            "own server, or run the model here with --local."
        )
    return str(error)
