"""Serve a segmentation model over HTTP, in the Inference API's wire format, with dynamic
batching: the self-hosted endpoint that many notebooks and command-line runs share.

`SegmentationServer` answers what the Hugging Face image-segmentation API answers, so
`SegformerClothesClient`, ``huggingface_hub.InferenceClient`` and ``curl`` use it unchanged:

- ``POST /`` or ``POST /models/<model id>`` with the raw bytes of a photo and its
  ``Content-Type`` (JPEG, PNG, WebP, BMP, GIF or TIFF; or JSON ``{"inputs": "<base64>"}``):
  200 with the JSON list of ``{"score", "label", "mask"}`` items, each mask a base64 PNG of 0
  and 255 at the photo's size after its EXIF orientation;
- 400 ``{"error": ...}`` for a body that is not a usable image or a request without a
  ``Content-Type``; 401 for a missing or wrong token (when one is required); 413 for a body
  over the size limit; 415 for another type; 429 with ``Retry-After`` when the queue is full;
  503 with ``estimated_time`` while the model loads, and 503 while the server stops;
- ``GET /health``: 200 once ready, 503 before; ``GET /metrics``: queue length, batch sizes,
  images served, answers by status.

Concurrent requests are gathered into one ``segment_batch`` call of the model, up to
``max_batch_size`` photos and within ``max_wait_ms`` (`ServeSettings`). Photos are decoded and
answers encoded in worker threads beside the model's own, so the model never waits on image
work, and the number of requests admitted at once is bounded.

It needs the ``serve`` extra (starlette and uvicorn): ``pip install
"segformer-clothes[serve]"``, and a model to serve: ``pip install
"segformer-clothes[local,serve]"`` for `LocalSegmenter`. Importing this module needs neither;
`SegmentationServer` (loaded on first use) needs starlette and uvicorn. From the shell:
``segformer-clothes serve --model DIR_OR_ID``.

Example:
    A `LocalSegmenter` on a stand-in model with random weights (the real one comes from the
    Hub), and our client:

    >>> import tempfile
    >>> from PIL import Image
    >>> from segformer_clothes import SegformerClothesClient
    >>> from segformer_clothes.local import LocalSegmenter
    >>> from segformer_clothes.serve import SegmentationServer
    >>> from segformer_clothes.testing import save_random_segformer
    >>> folder = save_random_segformer(tempfile.mkdtemp())
    >>> with SegmentationServer(load=lambda: LocalSegmenter(folder, device="cpu"),
    ...                         port=0) as server:
    ...     server.wait_until_ready()
    ...     with SegformerClothesClient(endpoint_url=server.url) as client:
    ...         result = client.segment(Image.new("RGB", (64, 48)))
    >>> result.size
    (64, 48)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._metrics import ServeMetrics
from ._settings import ACCEPTED_TYPES, INSTALL_COMMAND, ServeSettings

if TYPE_CHECKING:
    from ._server import SegmentationServer

__all__ = [
    "ACCEPTED_TYPES",
    "INSTALL_COMMAND",
    "SegmentationServer",
    "ServeMetrics",
    "ServeSettings",
]

# Loaded on first use: it needs starlette and uvicorn (the `serve` extra).
_LAZY = {"SegmentationServer": "._server"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segformer_clothes.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
