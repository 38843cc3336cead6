"""`segment --ray` and `--paths-from`: their options, the photos of path lists, and the engine
that segments the photos left to do on a Ray cluster, each photo's files encoded on a worker
and handed to `CatalogueRun.finish` here."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..catalogue import Photo
from ..distributed import LocalBackend, ray_session, read_path_list, segment_catalogue
from ..errors import SegformerClothesError
from ._outputs import Outputs
from ._run import Engine, Finished

__all__ = ["add_ray_options", "listed_photos", "ray_engine"]


def add_ray_options(parser: argparse.ArgumentParser) -> None:
    """Add --paths-from, --path-column and the --ray options to ``segment``."""
    parser.add_argument(
        "--paths-from",
        action="append",
        default=[],
        metavar="FILE",
        help="also segment the photos listed in FILE: a text file (one path a line), or a "
        "column of a .csv or .parquet table (see --path-column); each is named by its file "
        "name without extension",
    )
    parser.add_argument(
        "--path-column",
        default="path",
        metavar="NAME",
        help="with --paths-from a table: the column of paths (default %(default)s)",
    )
    parser.add_argument(
        "--ray",
        action="store_true",
        help="segment on Ray (needs the `ray` extra): alone, on a local Ray bound to 127.0.0.1 "
        "with no dashboard; with --ray-address, on that cluster. Same outputs and records",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join the Ray cluster at HOST:PORT (or auto); implies --ray",
    )
    parser.add_argument(
        "--ray-actors",
        type=int,
        default=2,
        metavar="N",
        help="with --ray: backends working at once, one per actor; --rpm and --concurrency "
        "are shared between them (default %(default)s)",
    )
    parser.add_argument(
        "--ray-gpus-per-actor",
        type=float,
        default=0.0,
        metavar="G",
        help="with --ray --local: GPUs each actor reserves, 1 on a GPU cluster (default 0)",
    )


def listed_photos(args: argparse.Namespace) -> list[Photo]:
    """The photos of the --paths-from lists, each named by its file name without extension.

    Raises:
        FileNotFoundError: a list, or a photo it names, does not exist.
        ValueError: a table lacks the --path-column, or a list names an object-store URI.
    """
    photos = []
    for listing in args.paths_from:
        if not Path(listing).is_file():
            raise FileNotFoundError(f"--paths-from {listing!r} does not exist")
        for entry in read_path_list(listing, args.path_column):
            if "://" in entry:
                raise ValueError(
                    f"{listing} lists {entry}: the command reads local paths and file:// URIs; "
                    "for object storage use segformer_clothes.distributed.segment_catalogue"
                )
            path = Path(entry)
            if not path.is_file():
                raise FileNotFoundError(f"{entry!r}, listed in {listing}, is not a file")
            photos.append(Photo(path, path.stem))
    return photos


def ray_engine(
    args: Any,
    outputs: Outputs,
    recipe: Callable[[], Any],
    as_usage_problem: Callable[[BaseException], Exception | None],
) -> Engine:
    """The engine of ``--ray``: a local Ray (``--ray`` alone) or the cluster at
    ``--ray-address``, an actor pool of ``--ray-actors`` backends built from ``recipe``.

    ``as_usage_problem`` turns an error found while building the backend on the actors (a
    bad option, weights missing) into the command's usage error, or gives None.
    """

    @contextlib.contextmanager
    def engine(photos: Iterator[Photo]) -> Iterator[Iterator[Finished]]:
        # The driver holds only the list of photos left; Ray streams the rest.
        by_path = {os.path.abspath(photo.path): photo for photo in photos}
        backend = recipe()
        gpus = args.ray_gpus_per_actor
        if isinstance(backend, LocalBackend) and gpus:
            backend = LocalBackend(**{**_fields(backend), "num_gpus": gpus})
        with ray_session(args.ray_address):
            stream = segment_catalogue(
                list(by_path),
                backend,
                actors=args.ray_actors,
                batch_size=args.batch_size,
                encoding=outputs.encoding(),
                num_gpus=gpus,
            )

            def finished() -> Iterator[Finished]:
                try:
                    for done in stream:
                        yield by_path.pop(done.path), done.outcome, done.seconds
                except SegformerClothesError as error:
                    problem = as_usage_problem(error)
                    if problem is None:
                        raise
                    raise problem from None

            try:
                yield finished()
            finally:
                stream.close()

    return engine


def _fields(backend: LocalBackend) -> dict[str, Any]:
    import attrs

    return attrs.asdict(backend)
