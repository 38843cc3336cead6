"""What the server tests share: a stand-in model that can be held back, photos, raw requests."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import httpx
import numpy as np
from PIL import Image

from segformer_clothes import InvalidImageError, SegmentationResult
from segformer_clothes.backends import BaseSegmenter, Outcome
from segformer_clothes.images import ImageInput, load_image
from segformer_clothes.testing import pixel_labels


class Painter(BaseSegmenter):
    """A stand-in model: `pixel_labels` of each upright photo. It records the size of every
    batch it runs, and while ``gate`` is closed it holds every batch back."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[int] = []
        self.model = "painter"

    def segment_batch(self, images: Sequence[ImageInput]) -> list[Outcome]:
        if not self.gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        self.batches.append(len(images))
        outcomes: list[Outcome] = []
        for image in images:
            try:
                outcomes.append(SegmentationResult(pixel_labels(load_image(image))))
            except InvalidImageError as error:
                outcomes.append(error)
        return outcomes


def drawn_photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A photo with white patches (Background for `pixel_labels`) so that no two sizes or
    orientations give the same label map."""
    generator = np.random.default_rng(seed)
    pixels = generator.integers(0, 200, size=(size[1], size[0], 3), dtype=np.uint8)
    pixels[: size[1] // 3, : size[0] // 4] = 255
    return Image.fromarray(pixels)


def encoded(image: Image.Image, kind: str = "JPEG", orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    options = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def post(url: str, body: bytes, content_type: str | None = "image/jpeg", **headers: str):
    """One raw request, as curl would send it."""
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(url, content=body, headers=headers, timeout=60)
