"""`SegformerClothesClient`: segment photos through the Hugging Face Inference API, a dedicated
Inference Endpoint, or any server that speaks the same protocol.

This module is the documented import path; the client lives in
`segformer_clothes.backends.remote.client`.

Example:
    >>> from segformer_clothes.client import SegformerClothesClient
    >>> SegformerClothesClient(endpoint_url="http://127.0.0.1:8080/", token="hf_x")
    SegformerClothesClient(url='http://127.0.0.1:8080/', token='[secure]')
"""

from __future__ import annotations

from .backends.remote.client import DEFAULT_MODEL, ClientStats, SegformerClothesClient

__all__ = ["DEFAULT_MODEL", "ClientStats", "SegformerClothesClient"]
