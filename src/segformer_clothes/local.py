"""`LocalSegmenter`: the SegFormer clothes model run in this process, on CPU or GPU.

This module is the documented import path; the segmenter lives in
`segformer_clothes.backends.local.segmenter`. Importing it does not import torch; creating a
`LocalSegmenter` does (the ``local`` extra: ``pip install "segformer-clothes[local]"``).

Example:
    >>> from segformer_clothes.local import LocalSegmenter
    >>> LocalSegmenter.__name__
    'LocalSegmenter'
"""

from __future__ import annotations

from .backends.local.segmenter import INSTALL_COMMAND, LocalSegmenter

__all__ = ["INSTALL_COMMAND", "LocalSegmenter"]
