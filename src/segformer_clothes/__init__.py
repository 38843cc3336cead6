"""Segment clothes in photos with SegFormer, and measure how accurate it is.

The backends are loaded when first used: ``import segformer_clothes`` loads neither the HTTP
stack (until `SegformerClothesClient` or `Segmenter` is asked for) nor torch (until
`LocalSegmenter` is), so scripts that only read results or evaluate stay light.

Example:
    >>> import segformer_clothes
    >>> segformer_clothes.CLOTHES_LABELS.ids("shoes")
    (9, 10)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DuplicateNameError,
    EndpointUnreachableError,
    InvalidImageError,
    ModelLoadingError,
    ModelNotFoundError,
    NetworkError,
    OutputLockedError,
    PayloadTooLargeError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    SegformerClothesError,
    ServerError,
    SettingError,
    TruncatedResponseError,
    UnsupportedMediaTypeError,
)
from .labels import CLOTHES_LABELS, LabelSet
from .result import SegmentationResult

if TYPE_CHECKING:
    from .backends.local.segmenter import LocalSegmenter
    from .backends.protocol import Segmenter
    from .backends.remote.client import ClientStats, SegformerClothesClient

__all__ = [
    "CLOTHES_LABELS",
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "DuplicateNameError",
    "EndpointUnreachableError",
    "InvalidImageError",
    "LabelSet",
    "LocalSegmenter",
    "ModelLoadingError",
    "ModelNotFoundError",
    "NetworkError",
    "OutputLockedError",
    "PayloadTooLargeError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseFormatError",
    "SegformerClothesClient",
    "SegformerClothesError",
    "SegmentationResult",
    "Segmenter",
    "ServerError",
    "SettingError",
    "TruncatedResponseError",
    "UnsupportedMediaTypeError",
    "__version__",
]

# Where each lazily loaded name lives: the HTTP stack and torch are imported only when asked for.
_LAZY = {
    "ClientStats": ".backends.remote.client",
    "SegformerClothesClient": ".backends.remote.client",
    "Segmenter": ".backends.protocol",
    "LocalSegmenter": ".backends.local.segmenter",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'segformer_clothes' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
