"""Segment a catalogue on Ray Data: photos read as bytes, segmented by an actor pool of any
backend, each photo's files encoded on the worker and handed back to the driver.

The pieces, from the smallest:

- `LocalBackend` and `ClientBackend`: picklable recipes that build a backend on each actor
  (a `LocalSegmenter`, or a `SegformerClothesClient` whose rate limit is split between the
  actors, so that the whole pool keeps to ``requests_per_minute``);
- `SegmentPhotos`: the callable class for ``Dataset.map_batches``: a batch of
  ``{"bytes", "path"}`` rows in, one row per photo out, holding its encoded files
  (`EncodedOutputs`) or the error it failed with;
- `segment_catalogue`: a whole job: the photos read with ``read_binary_files``, segmented by
  an actor pool (``ActorPoolStrategy``), streamed back as `FinishedPhoto` values, each photo
  once, none lost;
- `ray_session`: a local Ray bound to 127.0.0.1 with no dashboard and usage statistics off,
  or an existing cluster joined by address;
- `read_path_list`: the photos listed in a text file, or a column of a Parquet or CSV table.

Execution streams: the driver holds the list of paths, and the photos in flight are bounded
by Ray Data's backpressure, so memory stays flat in the number of photos. Writing the files
is the caller's job (``segformer-clothes segment --ray`` writes them with the same names,
records and resume rules as on one machine).

Needs the ``ray`` extra: ``pip install "segformer-clothes[ray]"``.

Example:
    One batch through `SegmentPhotos` as an actor of the pool would run it, without Ray:

    >>> import io
    >>> from PIL import Image
    >>> from segformer_clothes.testing import FakeInferenceServer
    >>> photo = io.BytesIO()
    >>> Image.new("RGB", (24, 32), "white").save(photo, format="PNG")
    >>> batch = {"path": np.array(["/photos/look.png"]), "bytes": np.array([photo.getvalue()])}
    >>> with FakeInferenceServer() as server:
    ...     rows = SegmentPhotos(ClientBackend({"endpoint_url": server.url}))(batch)
    >>> finished = FinishedPhoto.from_row({name: column[0] for name, column in rows.items()})
    >>> finished.path, finished.outcome.width, finished.outcome.height
    ('/photos/look.png', 24, 32)
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .backends.protocol import Segmenter
from .catalogue import EncodedOutputs, encode_outputs
from .errors import SegformerClothesError
from .result import SegmentationResult

__all__ = [
    "ClientBackend",
    "FinishedPhoto",
    "LocalBackend",
    "SegmentPhotos",
    "ray_session",
    "read_path_list",
    "segment_catalogue",
]

logger = logging.getLogger("segformer_clothes")

_INSTALL = 'pip install "segformer-clothes[ray]"'
_LOOPBACK = ("127.0.0.1", "localhost")


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(f"running on Ray needs Ray Data: {_INSTALL}") from error
    return ray


@attrs.frozen
class LocalBackend:
    """Builds a `LocalSegmenter` on each actor (the model loaded once per actor).

    Attributes:
        model: a model id on the Hub, or a folder written by ``save_pretrained``, reachable
            from every node.
        device: ``auto``, ``cpu``, ``cuda``; ``auto`` takes the actor's GPU when it has one.
        batch_size: photos per pass through the model.
        dtype: ``float32``, ``float16`` or ``bfloat16``.
        local_files_only: never try the network for the weights.
        num_gpus: GPUs each actor reserves (1 on a GPU cluster, 0 on CPUs).

    Example:
        >>> LocalBackend("weights/", num_gpus=1).num_gpus
        1
    """

    model: str
    device: str = "auto"
    batch_size: int = 4
    dtype: str = "float32"
    local_files_only: bool = False
    num_gpus: float = 0

    def __call__(self) -> Segmenter:
        from .backends.local.segmenter import LocalSegmenter

        return LocalSegmenter(
            self.model,
            device=self.device,
            batch_size=self.batch_size,
            dtype=self.dtype,
            local_files_only=self.local_files_only,
        )


@attrs.frozen
class ClientBackend:
    """Builds a `SegformerClothesClient` on each actor, from the client's keywords.

    The pool shares one rate limit by splitting it: `for_actors` gives each of ``n`` actors
    ``requests_per_minute / n`` and ``max_concurrency / n`` (at least 1), so that the pool
    as a whole keeps to the limit given. A token in the keywords travels to every actor.

    Example:
        >>> backend = ClientBackend({"requests_per_minute": 120, "max_concurrency": 8})
        >>> share = backend.for_actors(4).options
        >>> share["requests_per_minute"], share["max_concurrency"]
        (30.0, 2)
    """

    options: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    def for_actors(self, actors: int) -> ClientBackend:
        """The recipe for one of ``actors`` actors sharing this limit and concurrency."""
        if actors < 1:
            raise ValueError(f"actors must be 1 or more, got {actors}")
        options = dict(self.options)
        if options.get("requests_per_minute") is not None:
            options["requests_per_minute"] = float(options["requests_per_minute"]) / actors
        options["max_concurrency"] = max(1, int(options.get("max_concurrency", 4)) // actors)
        return ClientBackend(options)

    def __call__(self) -> Segmenter:
        from .backends.remote.client import SegformerClothesClient

        return SegformerClothesClient(**self.options)


def _portable(error: BaseException, path: str) -> BaseException:
    """The error as it can travel back to the driver: picklable, its source the path."""
    if isinstance(error, SegformerClothesError):
        error.source = path
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # an error class whose constructor pickle cannot call again
        return SegformerClothesError(str(error), source=path)
    return error


@attrs.frozen
class FinishedPhoto:
    """One photo back from the cluster.

    Attributes:
        path: the path (or URI) it was read from, as Ray spells it: absolute, no scheme.
        outcome: its encoded files, or the error it failed with.
        seconds: its share of its batch's time on the worker.
    """

    path: str
    outcome: EncodedOutputs | BaseException
    seconds: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FinishedPhoto:
        """Read one row `SegmentPhotos` wrote."""
        return cls(str(row["path"]), pickle.loads(row["outcome"]), float(row["seconds"]))


class SegmentPhotos:
    """The callable class for ``Dataset.map_batches``, run in an actor pool.

    Each actor builds its backend once (``make_segmenter``), then takes batches of rows
    with a ``bytes`` column (the photo as read) and a ``path`` column, and gives back one row
    per photo: ``path``, ``outcome`` (the pickled `EncodedOutputs`, or the pickled error the
    photo failed with, its source the path) and ``seconds``.

    Args:
        make_segmenter: a picklable callable returning a `Segmenter`: `LocalBackend`,
            `ClientBackend`, or your own.
        encoding: the keywords of `encode_outputs` (``overlay``, ``crops``,
            ``overlay_style``); only the label map when left out.
    """

    def __init__(
        self,
        make_segmenter: Callable[[], Segmenter],
        encoding: Mapping[str, Any] | None = None,
    ) -> None:
        self._segmenter = make_segmenter()
        self._encoding = dict(encoding or {})

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        paths = [str(path) for path in batch["path"]]
        photos = [bytes(photo) for photo in batch["bytes"]]
        began = time.perf_counter()
        outcomes = self._segmenter.segment_batch(photos)
        rows = [self._encode(*photo) for photo in zip(paths, photos, outcomes, strict=True)]
        seconds = (time.perf_counter() - began) / max(1, len(paths))
        return {
            "path": np.array(paths, dtype=object),
            "outcome": np.array(rows, dtype=object),
            "seconds": np.full(len(paths), seconds),
        }

    def _encode(self, path: str, photo: bytes, outcome: Any) -> bytes:
        if isinstance(outcome, SegmentationResult):
            result = SegmentationResult(
                outcome.label_map, labels=outcome.labels, source=path, image=photo
            )
            try:
                outcome = encode_outputs(result, photo, **self._encoding)
            except (OSError, ValueError, SegformerClothesError) as error:
                outcome = error
        if isinstance(outcome, BaseException):
            outcome = _portable(outcome, path)
        return pickle.dumps(outcome)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._segmenter.close()


def _cause(error: BaseException) -> SegformerClothesError | None:
    """The library error behind one that Ray raised for it, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SegformerClothesError):
            return current
        seen.add(id(current))
        current = getattr(current, "cause", None) or current.__cause__
    return None


def segment_catalogue(
    paths: Iterable[str | os.PathLike[str]],
    make_segmenter: Callable[[], Segmenter],
    *,
    actors: int = 2,
    batch_size: int = 4,
    encoding: Mapping[str, Any] | None = None,
    num_cpus: float = 1,
    num_gpus: float | None = None,
) -> Generator[FinishedPhoto, None, None]:
    """Segment the photos at ``paths`` on the Ray cluster this process is connected to.

    The photos are read as bytes (``read_binary_files``: local paths, ``file://`` URIs and
    whatever else pyarrow's filesystems read), segmented by a pool of ``actors`` actors
    (``ActorPoolStrategy``) that each build their backend once, and streamed back in the
    order they finish. Each photo comes back once: an actor that dies is restarted and its
    batch retried by Ray, a photo that comes back twice is given once, and a photo that
    never came back is given at the end with an error, so that a rerun retries it.

    Args:
        paths: the photos, local paths (made absolute here) or URIs.
        make_segmenter: a picklable callable building the backend on each actor; a
            `ClientBackend` gets its share of the rate limit (`ClientBackend.for_actors`).
        actors: the size of the actor pool.
        batch_size: photos per batch handed to an actor.
        encoding: the keywords of `encode_outputs`: ``overlay``, ``crops``,
            ``overlay_style``.
        num_cpus: CPUs each actor reserves.
        num_gpus: GPUs each actor reserves; for a `LocalBackend` its ``num_gpus`` when
            left out, else 0.

    Raises:
        SegformerClothesError: the backend could not be built on the actors (a bad setting,
            missing weights): the library's error, not Ray's wrapping of it.
        ImportError: Ray Data is not installed.
    """
    ray = _import_ray()
    if isinstance(make_segmenter, ClientBackend):
        make_segmenter = make_segmenter.for_actors(actors)
    if num_gpus is None:
        num_gpus = make_segmenter.num_gpus if isinstance(make_segmenter, LocalBackend) else 0
    # Ray gives each path back in its own spelling: the photos not back yet, by that spelling.
    left = {_ray_spelling(path): _ray_input(path) for path in paths}
    if not left:
        return
    dataset = ray.data.read_binary_files(list(left.values()), include_paths=True).map_batches(
        SegmentPhotos,
        fn_constructor_args=(make_segmenter, encoding),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        # A dead actor is restarted and the batch it held is run again.
        max_restarts=-1,
        max_task_retries=-1,
    )
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for i in range(len(batch["path"])):
                finished = FinishedPhoto.from_row({k: column[i] for k, column in batch.items()})
                if finished.path in left:
                    del left[finished.path]
                    yield finished
    except Exception as error:
        cause = _cause(error)
        if cause is None or cause is error:
            raise
        raise cause from None
    for path in left:
        lost = SegformerClothesError("the cluster gave no result for this photo; rerun to retry it")
        yield FinishedPhoto(path, _portable(lost, path), 0.0)


def _ray_spelling(path: str | os.PathLike[str]) -> str:
    """A path as Ray reads it and gives it back: absolute, a ``file://`` URI as its path."""
    text = os.fspath(path)
    if text.startswith("file://"):
        return text[len("file://") :]
    if "://" in text:
        return text.split("://", 1)[1]  # Ray gives bucket/key back, without the scheme
    return os.path.abspath(text)


def _ray_input(path: str | os.PathLike[str]) -> str:
    """How a path is handed to ``read_binary_files``: URIs as they are, paths absolute."""
    text = os.fspath(path)
    return text if "://" in text else os.path.abspath(text)


@contextlib.contextmanager
def ray_session(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
) -> Iterator[None]:
    """Connect this process to Ray for the ``with`` block.

    Without ``address``, a local Ray is started for the block, bound to 127.0.0.1 with no
    dashboard, in a fresh temporary folder (so nothing a killed Ray left behind matters), and
    shut down after it. With ``address`` (``HOST:PORT`` of a cluster's head, or ``auto``) the
    cluster is joined, then left. Either way usage statistics are off. If this process is
    already connected, the block runs on that connection and leaves it open.

    Args:
        address: the cluster to join; None starts a local one.
        num_cpus: the local Ray's logical CPUs; four per core when left out (an actor pool
            and the read tasks then fit on a small machine).
        object_store_memory: the local Ray's object store, in bytes; Ray's default when left
            out.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield
        return
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    temporary = None
    if address is None:
        temporary = tempfile.mkdtemp(prefix="segformer-ray-")
        options.update(
            address="local",
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            num_cpus=num_cpus or 4 * (os.cpu_count() or 1),
            object_store_memory=object_store_memory,
            _temp_dir=temporary,
        )
    else:
        options["address"] = address
        if address.rpartition(":")[0] in _LOOPBACK:
            options["_node_ip_address"] = "127.0.0.1"
    ray.init(**options)
    try:
        yield
    finally:
        ray.shutdown()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def read_path_list(path: str | os.PathLike[str], column: str = "path") -> list[str]:
    """The photos listed in a file: one a line in a text file (blank lines and ``#``
    comments skipped), or the ``column`` of a ``.parquet`` or ``.csv`` table.

    Relative paths are taken from the list's folder. Parquet needs pyarrow (the ``ray``
    extra installs it).

    Raises:
        ValueError: the table has no such column.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "photos.txt").write_text("a.jpg\\n# old\\n\\nfile:///b.jpg\\n")
        >>> [Path(p).name for p in read_path_list(folder / "photos.txt")]
        ['a.jpg', 'b.jpg']
    """
    listing = Path(path)
    suffix = listing.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as parquet

        table = parquet.read_table(listing)
        if column not in table.column_names:
            raise ValueError(f"{listing} has no column {column!r}: it has {table.column_names}")
        given = [str(value) for value in table.column(column).to_pylist()]
    elif suffix == ".csv":
        with listing.open(newline="", encoding="utf-8") as table_file:
            reader = csv.DictReader(table_file)
            if column not in (reader.fieldnames or []):
                raise ValueError(f"{listing} has no column {column!r}: it has {reader.fieldnames}")
            given = [row[column] for row in reader]
    else:
        lines = io.StringIO(listing.read_text(encoding="utf-8"))
        given = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [_from_list(entry, listing.parent) for entry in given]


def _from_list(entry: str, folder: Path) -> str:
    if entry.startswith("file://"):
        return entry[len("file://") :]
    if "://" in entry or os.path.isabs(entry):
        return entry
    return os.fspath(folder / entry)
