"""The backends that turn photos into results, and the contract they all keep.

`Segmenter` is the protocol; `BaseSegmenter` holds the batch semantics every backend shares
(order, read-ahead, ``return_exceptions``, progress, ``source``, cancellation). The backends
are `segformer_clothes.SegformerClothesClient` (an HTTP inference API) and
`segformer_clothes.LocalSegmenter` (the model in this process).

Example:
    >>> from segformer_clothes.backends import Segmenter
    >>> Segmenter.__name__
    'Segmenter'
"""

from __future__ import annotations

from .base import BaseSegmenter, Outcome, Segmenter, source_of

__all__ = ["BaseSegmenter", "Outcome", "Segmenter", "source_of"]
