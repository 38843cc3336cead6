"""Where the token comes from and which hosts may see it.

An explicit ``token`` goes wherever the client posts (the host it was given for); a token
found in ``HF_TOKEN``, ``HF_API_TOKEN`` or the Hugging Face token file goes only to Hugging
Face's own hosts (huggingface.co, hf.co), not to a Space or a dedicated endpoint, where
someone's own code runs. After a redirect to another origin no token is sent at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import httpx

__all__ = ["Credentials", "find_token", "is_huggingface_host"]

# Hosts Hugging Face runs itself. Not hf.space or *.endpoints.huggingface.cloud: the code
# behind those is someone's Space or container, so a token must be given there explicitly.
_HF_DOMAINS = ("huggingface.co", "hf.co")


def is_huggingface_host(host: str) -> bool:
    """True for huggingface.co, hf.co and their subdomains (the Hub and the Inference API
    router): a token found in the environment may go there, and a call there needs one."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in _HF_DOMAINS)


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
