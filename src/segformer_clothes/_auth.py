"""Where the token comes from and which hosts may see it.

An explicit ``token`` goes wherever the client posts (the host it was given for); a token
found in ``HF_TOKEN``, ``HF_API_TOKEN`` or the Hugging Face token file goes only to Hugging
Face hosts. After a redirect to another origin no token is sent at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import httpx

__all__ = ["Credentials", "find_token", "is_huggingface_host", "needs_token"]

# huggingface.cloud: dedicated Inference Endpoints (``*.endpoints.huggingface.cloud``).
_HF_DOMAINS = ("huggingface.co", "hf.co", "hf.space", "huggingface.cloud")
_HF_API_DOMAINS = ("huggingface.co", "hf.co")


def _in_domains(host: str, domains: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def is_huggingface_host(host: str) -> bool:
    """True for Hugging Face's own hosts (huggingface.co, hf.co, hf.space, the Inference
    Endpoints under huggingface.cloud) and their subdomains: a token found in the
    environment may go there."""
    return _in_domains(host, _HF_DOMAINS)


def needs_token(host: str) -> bool:
    """True for the Hugging Face API hosts (the serverless router), which refuse anonymous
    calls; a dedicated endpoint may be public."""
    return _in_domains(host, _HF_API_DOMAINS)


def _token_file() -> Path:
    explicit = os.environ.get("HF_TOKEN_PATH")
    if explicit:
        return Path(explicit).expanduser()
    hf_home = os.environ.get("HF_HOME")
    if hf_home:
        return Path(hf_home).expanduser() / "token"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "token"


def find_token() -> str | None:
    """The token from ``HF_TOKEN``, then ``HF_API_TOKEN``, then the token file
    (``HF_TOKEN_PATH``, else ``$HF_HOME/token``, else ``~/.cache/huggingface/token``)."""
    for name in ("HF_TOKEN", "HF_API_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        value = _token_file().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


@attrs.frozen
class Credentials:
    """A token and the one rule for where it may go."""

    token: str | None = attrs.field(repr=lambda t: "None" if t is None else "'[secure]'")
    explicit: bool
    endpoint: httpx.URL

    @classmethod
    def resolve(cls, token: str | None, endpoint: httpx.URL) -> Credentials:
        if token is not None:
            return cls(token.strip() or None, True, endpoint)
        return cls(find_token(), False, endpoint)

    def authorization_for(self, url: httpx.URL) -> str | None:
        """The ``Authorization`` header value for a request to ``url``, or None."""
        if self.token is None:
            return None
        same_origin = (url.scheme, url.host, url.port) == (
            self.endpoint.scheme,
            self.endpoint.host,
            self.endpoint.port,
        )
        if self.explicit and same_origin:
            return f"Bearer {self.token}"
        if is_huggingface_host(url.host) and (same_origin or url.scheme == "https"):
            return f"Bearer {self.token}"
        return None
