"""Picklable recipes that build a backend on each actor of a pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..backends.protocol import Segmenter

__all__ = ["ClientBackend", "LocalBackend"]


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
        from ..backends.local.segmenter import LocalSegmenter

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
        from ..backends.remote.client import SegformerClothesClient

        return SegformerClothesClient(**self.options)
