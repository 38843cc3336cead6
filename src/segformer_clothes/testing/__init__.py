"""Test pipelines without network, token or model: a local stand-in for the API, and small models.

`FakeInferenceServer` is a real HTTP server on 127.0.0.1 that answers like the Hugging Face
image-segmentation API. It speaks the wire format of the hosted Inference API and of dedicated
Inference Endpoints: a POST of raw image bytes with a ``Content-Type`` gets a JSON list of
``{"score", "label", "mask"}`` items, each mask a full-size mode-L PNG of 0 and 255, and errors
come with the same status codes, bodies and headers (``Retry-After``, ``x-request-id``). Its
answers are deterministic: by default a function of the pixels' position and brightness
(`pixel_labels`), or a table or function you give (`encode_answer` writes a label map as an
answer). Switches add latency, a token-bucket rate limit, injected faults (`FAULTS`), a required
token, a 404 mode and redirects, and it counts what it received so a test can check it. Its
hostile faults (trickled answers, a wrong content encoding, a 401 echoing the token, deep JSON,
gzip bombs, masks claiming billions of pixels, empty answers, redirect loops...) check that a
pipeline stays safe and bounded whatever a server sends.

`save_random_segformer` writes a SegFormer with random weights to a folder, for testing code
that runs the model in-process (`segformer_clothes.local.LocalSegmenter`) without downloading
real weights; it needs the ``local`` extra, and only when called.

Example:
    >>> from PIL import Image
    >>> from segformer_clothes import SegformerClothesClient
    >>> from segformer_clothes.testing import FakeInferenceServer
    >>> with FakeInferenceServer(faults=["loading", "429"]) as server:
    ...     with SegformerClothesClient(endpoint_url=server.url) as client:
    ...         result = client.segment(Image.new("RGB", (40, 60), "navy"))
    ...     server.statuses[503], server.statuses[429], server.statuses[200]
    (1, 1, 1)
    >>> result.labels_present
    ('Background', 'Hair', 'Upper-clothes', 'Pants', 'Left-shoe', 'Right-shoe', 'Face')
"""

from __future__ import annotations

from ..formats.answer import encode_answer
from ._answers import pixel_labels
from ._models import B3_SEGFORMER_SIZES, TINY_SEGFORMER_SIZES, save_random_segformer
from ._server import FAULTS, FakeInferenceServer

__all__ = [
    "B3_SEGFORMER_SIZES",
    "FAULTS",
    "TINY_SEGFORMER_SIZES",
    "FakeInferenceServer",
    "encode_answer",
    "pixel_labels",
    "save_random_segformer",
]
