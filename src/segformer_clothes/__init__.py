"""Segment clothes in photos with SegFormer, and measure how accurate it is.

Example:
    >>> import segformer_clothes
    >>> segformer_clothes.CLOTHES_LABELS.ids("shoes")
    (9, 10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .backends import Segmenter
from .client import ClientStats, SegformerClothesClient
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InvalidImageError,
    ModelLoadingError,
    ModelNotFoundError,
    NetworkError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    SegformerClothesError,
    ServerError,
    TruncatedResponseError,
)
from .labels import CLOTHES_LABELS, LabelSet
from .result import SegmentationResult

if TYPE_CHECKING:
    from .local import LocalSegmenter

__all__ = [
    "CLOTHES_LABELS",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "InvalidImageError",
    "LabelSet",
    "LocalSegmenter",
    "ModelLoadingError",
    "ModelNotFoundError",
    "NetworkError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "SegformerClothesClient",
    "SegformerClothesError",
    "SegmentationResult",
    "Segmenter",
    "ServerError",
    "TruncatedResponseError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # LocalSegmenter needs torch: import it only when asked for, so the package stays light.
    if name == "LocalSegmenter":
        from .local import LocalSegmenter

        return LocalSegmenter
    raise AttributeError(f"module 'segformer_clothes' has no attribute {name!r}")
