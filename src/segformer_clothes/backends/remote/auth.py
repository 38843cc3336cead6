"""Where the token comes from and which hosts may see it.

An explicit ``token`` goes wherever the client posts (the host it was given for); a token
found in ``HF_TOKEN``, ``HF_API_TOKEN`` or the Hugging Face token file goes only to Hugging
Face's own hosts (huggingface.co, hf.co), not to a Space or a dedicated endpoint, where
someone's own code runs. After a redirect to another origin no credential is sent at all:
no token, no header given in ``headers=``, no cookie.

A token must be visible ASCII (no space, control character or non-ASCII letter): anything else
cannot travel in a header, and is refused with a `SettingError` that does not show it. Every
secret the client holds (the token, the values of ``headers=``, credentials in the endpoint URL)
is redacted from the text of the errors it raises, and prints as ``[secure]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs
import httpx

from ...errors import SettingError

__all__ = ["Credentials", "Secrets", "display_url", "find_token", "is_huggingface_host"]

# Query parameters that commonly carry a key; their values never appear in a message.
_SECRET_PARAMS = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "auth", "password", "secret", "sig"}
)
# Header values shorter than this are not redacted from messages: "1" or "yes" would blank
# out half a sentence, and are not secrets anyway.
_SHORTEST_SECRET = 6
_REDACTED = "[secure]"


class SecretText(str):
    """A header value that prints as ``'[secure]'``: dicts of headers that hold one can show
    up in a debugger or a traceback's local variables without showing the secret."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(_REDACTED)


class _Described:
    """Stands for a refused secret in an error: what was wrong with it, never the value."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __repr__(self) -> str:
        return f"{_REDACTED} ({self._what})"


def _flaw(value: str) -> str | None:
    """What keeps ``value`` from travelling in an HTTP header, or None."""
    for position, character in enumerate(value):
        if not "!" <= character <= "~":
            kind = (
                "a newline"
                if character in "\r\n"
                else "a space"
                if character == " "
                else "a non-ASCII character"
                if ord(character) > 127
                else "a control character"
            )
            return f"{kind} at position {position}"
    return None


def checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The extra headers, each value as `SecretText`; a value that cannot be sent is refused.

    Raises:
        SettingError: a header value is not text, or holds a newline, a control or a non-ASCII
            character.
    """
    checked: dict[str, str] = {}
    given: Mapping[str, object] = headers or {}  # typed as text, but callers pass what httpx takes
    for name, value in given.items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")  # as httpx reads a header given as bytes
        if not isinstance(value, str):
            raise SettingError("headers", _Described(f"the value of {name!r}"), "text")
        flaw = _flaw(value.replace(" ", "!").replace("\t", "!"))  # spaces are allowed here
        if flaw is not None:
            raise SettingError(
                "headers", _Described(f"the value of {name!r} has {flaw}"), "printable ASCII"
            )
        checked[name] = SecretText(value)
    return checked


def display_url(url: httpx.URL) -> str:
    """The URL as messages and reprs show it: user name, password and key-like query values
    (``api_key=``, ``token=``...) replaced by ``[secure]``.

    Example:
        >>> display_url(httpx.URL("https://me:pw@example.com/m?token=abc&x=1"))
        'https://[secure]@example.com/m?token=[secure]&x=1'
    """
    shown = url
    if url.userinfo:
        shown = shown.copy_with(userinfo=_REDACTED.encode())
    text = str(shown)
    if url.query:
        pairs = [
            f"{name}={_REDACTED}" if name.lower() in _SECRET_PARAMS else f"{name}={value}"
            for name, value in httpx.QueryParams(url.query.decode("ascii", "replace")).multi_items()
        ]
        text = text.split("?", 1)[0] + "?" + "&".join(pairs)
    return text.replace("%5Bsecure%5D", _REDACTED)


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
        """The token given, else the one found; refused when it cannot travel in a header.

        Raises:
            SettingError: the token holds a space, a newline, a NUL, another control
                character or a non-ASCII character; the message says which and where, never
                the token.
        """
        explicit = token is not None
        found = (token or "").strip() or None if explicit else find_token()
        if found is not None:
            flaw = _flaw(found)
            if flaw is not None:
                raise SettingError(
                    "token",
                    _Described(flaw),
                    "visible ASCII characters (as Hugging Face tokens are)",
                )
        return cls(found, explicit, endpoint)

    def same_origin(self, url: httpx.URL) -> bool:
        """True when ``url`` has the endpoint's scheme, host and port."""
        return (url.scheme, url.host, url.port) == (
            self.endpoint.scheme,
            self.endpoint.host,
            self.endpoint.port,
        )

    def authorization_for(self, url: httpx.URL) -> str | None:
        """The ``Authorization`` header value for a request to ``url`` (as `SecretText`), or
        None."""
        if self.token is None or not self.same_origin(url):
            return None  # after a redirect to another origin, even a Hugging Face one
        if self.explicit or is_huggingface_host(url.host):
            return SecretText(f"Bearer {self.token}")
        return None


class Secrets:
    """The secret strings of one client, to blank out of any text an error shows: the token,
    the values of ``headers=``, and the credentials of the endpoint URL.

    Example:
        >>> secrets = Secrets(["hf_abcdef"])
        >>> secrets.text("server said: bad token hf_abcdef")
        'server said: bad token [secure]'
        >>> secrets
        Secrets([secure])
    """

    def __init__(self, values: Iterable[str | None]) -> None:
        unique = {value for value in values if value and len(value) >= _SHORTEST_SECRET}
        # Longest first, so that a secret holding another is blanked whole.
        self._texts = sorted(unique, key=len, reverse=True)
        self._bytes = [text.encode("utf-8", "replace") for text in self._texts]

    @classmethod
    def of(cls, credentials: Credentials, headers: Mapping[str, str], url: httpx.URL) -> Secrets:
        """Everything secret a client was given."""
        values: list[str | None] = [credentials.token, *headers.values()]
        values += [url.username, url.password, url.userinfo.decode("ascii", "replace")]
        params = httpx.QueryParams(url.query.decode("ascii", "replace"))
        values += [v for k, v in params.multi_items() if k.lower() in _SECRET_PARAMS]
        return cls(values)

    def __repr__(self) -> str:
        return f"Secrets({_REDACTED})"

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``[secure]``."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def body(self, body: bytes) -> bytes:
        """An answer's body with every secret replaced (the same bytes when there is none)."""
        for secret in self._bytes:
            if secret in body:
                body = body.replace(secret, _REDACTED.encode())
        return body

    def headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """An answer's headers with every secret replaced in their values."""
        if not any(secret in value for value in headers.values() for secret in self._texts):
            return headers
        return {name: self.text(value) for name, value in headers.items()}
