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
    >>> import numpy as np
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

from ._actors import FinishedPhoto, SegmentPhotos
from ._backends import ClientBackend, LocalBackend
from ._job import segment_catalogue
from ._paths import read_path_list
from ._session import ray_session

__all__ = [
    "ClientBackend",
    "FinishedPhoto",
    "LocalBackend",
    "SegmentPhotos",
    "ray_session",
    "read_path_list",
    "segment_catalogue",
]
