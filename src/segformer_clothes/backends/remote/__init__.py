"""The remote backend: `SegformerClothesClient` and its parts, for the Hugging Face Inference
API, a dedicated Inference Endpoint or any server speaking the same protocol.

- `segformer_clothes.backends.remote.client`: the client itself.
- `segformer_clothes.backends.remote.auth`: where the token comes from and which hosts see it.
- `segformer_clothes.backends.remote.retry`: what is retried and how long to wait.
- `segformer_clothes.backends.remote.ratelimit`: the token bucket every request shares.

Example:
    >>> from segformer_clothes.backends.remote import DEFAULT_MODEL
    >>> DEFAULT_MODEL
    'sayeed99/segformer_b3_clothes'
"""

from __future__ import annotations

from .client import DEFAULT_MODEL, ClientStats, SegformerClothesClient

__all__ = ["DEFAULT_MODEL", "ClientStats", "SegformerClothesClient"]
