"""Secrets stay secret: credentials do not follow a redirect to another origin, and no error,
repr, message or traceback frame of the library shows the token, a header value given in
``headers=`` or the credentials of the endpoint URL."""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from segformer_clothes import SegformerClothesClient
from segformer_clothes.backends.remote.auth import Credentials
from segformer_clothes.errors import (
    AuthenticationError,
    ModelNotFoundError,
    NetworkError,
    ResponseFormatError,
    SegformerClothesError,
    SettingError,
)
from segformer_clothes.testing import FakeInferenceServer

PHOTO = Image.new("RGB", (16, 16), "navy")
SECRET = "hf_SuperSecretToken123"
API_KEY = "key-0123456789abcdef"
COOKIE = "session-cookie-987654"
POOL_KEY = "pool-key-5555555555"

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def two_servers() -> Iterator[tuple[FakeInferenceServer, FakeInferenceServer]]:
    """A server that redirects (307) to another one on another port."""
    with FakeInferenceServer() as target, FakeInferenceServer() as first:
        first.redirect_to = target.url
        yield first, target


def credentials_seen(headers: dict[str, str]) -> dict[str, str]:
    names = ("authorization", "x-api-key", "cookie", "x-pool-key")
    return {name: headers[name] for name in names if name in headers}


def test_no_credential_follows_a_redirect_to_another_port(two_servers):
    first, target = two_servers
    pool = httpx.Client(cookies={"session": COOKIE}, headers={"X-Pool-Key": POOL_KEY})
    with (
        pool,
        SegformerClothesClient(
            endpoint_url=first.url, token=SECRET, headers={"X-Api-Key": API_KEY}, http_client=pool
        ) as client,
    ):
        assert client.segment(PHOTO).size == (16, 16)
    assert credentials_seen(first.headers_seen[-1]) == {
        "authorization": f"Bearer {SECRET}",
        "x-api-key": API_KEY,
        "cookie": f"session={COOKIE}",
        "x-pool-key": POOL_KEY,
    }
    assert credentials_seen(target.headers_seen[-1]) == {}


def test_a_user_set_authorization_header_does_not_follow_either(two_servers):
    first, target = two_servers
    with SegformerClothesClient(
        endpoint_url=first.url, headers={"Authorization": f"Bearer {SECRET}"}
    ) as client:
        client.segment(PHOTO)
    assert first.headers_seen[-1]["authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in target.headers_seen[-1]


@pytest.mark.anyio
async def test_no_credential_follows_a_redirect_to_another_port_async(two_servers, anyio_backend):
    first, target = two_servers
    pool = httpx.AsyncClient(cookies={"session": COOKIE}, headers={"X-Pool-Key": POOL_KEY})
    async with pool:
        client = SegformerClothesClient(
            endpoint_url=first.url,
            token=SECRET,
            headers={"X-Api-Key": API_KEY},
            async_http_client=pool,
        )
        async with client:
            await client.asegment(PHOTO)
    assert credentials_seen(first.headers_seen[-1])["x-pool-key"] == POOL_KEY
    assert credentials_seen(target.headers_seen[-1]) == {}


def test_a_redirect_within_the_origin_keeps_the_credentials():
    with FakeInferenceServer() as server:
        server.redirect_to = server.url + "/moved"
        with SegformerClothesClient(
            endpoint_url=server.url, token=SECRET, headers={"X-Api-Key": API_KEY}
        ) as client:
            client.segment(PHOTO)
        assert server.statuses == {307: 1, 200: 1}
        assert credentials_seen(server.headers_seen[-1]) == {
            "authorization": f"Bearer {SECRET}",
            "x-api-key": API_KEY,
        }


@pytest.mark.parametrize(
    ("token", "flaw"),
    [
        ("hf_abc\ndef", "a newline"),
        ("hf_abc\x00def", "a control character"),
        ("hf_abcé", "a non-ASCII character"),
        ("hf_abc def", "a space"),
    ],
)
def test_a_token_that_cannot_travel_is_refused_without_showing_it(token, flaw, monkeypatch):
    with pytest.raises(SettingError) as caught:
        SegformerClothesClient(endpoint_url="http://127.0.0.1:9/", token=token)
    error = caught.value
    assert flaw in str(error)
    for shown in (str(error), repr(error), repr(error.value), repr(error.args)):
        assert token not in shown
    if "\x00" in token:
        return  # no environment variable can hold a NUL
    # The same for a token found in the environment.
    monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(SettingError, match="token"):
        SegformerClothesClient()


def test_a_header_value_that_cannot_travel_is_refused_without_showing_it():
    value = f"{API_KEY}\r\nX-Injected: yes"
    with pytest.raises(SettingError, match="X-Api-Key") as caught:
        SegformerClothesClient(endpoint_url="http://127.0.0.1:9/", headers={"X-Api-Key": value})
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value.value)


def test_secrets_in_the_endpoint_url_are_redacted_in_repr_and_errors():
    with FakeInferenceServer(not_found=True) as server:
        host = server.url.removeprefix("http://")
        url = f"http://someone:{SECRET}@{host}?api_key={API_KEY}&token={POOL_KEY}&page=2"
        with SegformerClothesClient(endpoint_url=url, max_retries=0) as client:
            shown = [repr(client)]
            with pytest.raises(ModelNotFoundError) as caught:
                client.segment(PHOTO)
        shown += [str(caught.value), repr(caught.value)]
        for text in shown:
            assert "[secure]" in text
            assert "page=2" in text
            for secret in (SECRET, API_KEY, POOL_KEY, "someone"):
                assert secret not in text


def test_secrets_in_the_url_are_redacted_from_network_errors():
    url = f"http://127.0.0.1:9/models/m?token={SECRET}"  # nothing listens on port 9
    with (
        SegformerClothesClient(endpoint_url=url, max_retries=0) as client,
        pytest.raises(NetworkError) as caught,
    ):
        client.segment(PHOTO)
    assert SECRET not in str(caught.value)
    assert "token=[secure]" in str(caught.value)


def test_a_server_echoing_the_token_does_not_get_it_into_the_error():
    with (
        FakeInferenceServer(faults=["echo"]) as server,
        SegformerClothesClient(
            endpoint_url=server.url, token=SECRET, headers={"X-Api-Key": API_KEY}
        ) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.segment(PHOTO)
    error = caught.value
    assert "[secure]" in (error.server_message or "")
    for text in (str(error), repr(error), error.server_message, error.request_id, error.message):
        assert SECRET not in (text or "")
        assert API_KEY not in (text or "")


def error_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__context__, current.__cause__]


def assert_no_secret_in_frames(error: BaseException) -> None:
    for link in error_chain(error):
        for frame, _ in traceback.walk_tb(link.__traceback__):
            for name, value in frame.f_locals.items():
                if isinstance(value, Credentials):
                    continue  # its repr is already '[secure]'
                shown = repr(value)
                where = f"{frame.f_code.co_name}: {name}"
                assert SECRET not in shown, where
                assert API_KEY not in shown, where


def assert_carries_nothing_of_httpx(error: BaseException) -> None:
    for link in error_chain(error):
        assert not isinstance(link, httpx.HTTPError), repr(link)
        for value in vars(link).values():
            assert not isinstance(value, (httpx.Request, httpx.Response, httpx.HTTPError))


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("echo", AuthenticationError),
        ("gzip_lie", ResponseFormatError),
        ("drop", NetworkError),
        ("mask_bomb", ResponseFormatError),
    ],
)
def test_raised_errors_keep_the_token_out_of_their_chain_and_frames(fault, kind):
    with (
        FakeInferenceServer(faults=[fault]) as server,
        SegformerClothesClient(
            endpoint_url=server.url, token=SECRET, headers={"X-Api-Key": API_KEY}, max_retries=0
        ) as client,
        pytest.raises(kind) as caught,
    ):
        client.segment(PHOTO)
    assert_carries_nothing_of_httpx(caught.value)
    assert_no_secret_in_frames(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "kind"), [("echo", AuthenticationError), ("gzip_lie", ResponseFormatError)]
)
async def test_raised_errors_keep_the_token_out_async(fault, kind, anyio_backend):
    with FakeInferenceServer(faults=[fault]) as server:
        async with SegformerClothesClient(
            endpoint_url=server.url, token=SECRET, headers={"X-Api-Key": API_KEY}, max_retries=0
        ) as client:
            with pytest.raises(kind) as caught:
                await client.asegment(PHOTO)
    assert_carries_nothing_of_httpx(caught.value)
    assert_no_secret_in_frames(caught.value)


def test_batch_errors_keep_the_token_out(tmp_path):
    with (
        FakeInferenceServer(faults=["echo", "gzip_lie"]) as server,
        SegformerClothesClient(
            endpoint_url=server.url, token=SECRET, max_retries=0, max_concurrency=1
        ) as client,
    ):
        outcomes = list(client.segment_many([PHOTO] * 3, return_exceptions=True))
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "AuthenticationError",
        "ResponseFormatError",
        "SegmentationResult",
    ]
    for outcome in outcomes[:2]:
        assert isinstance(outcome, SegformerClothesError)
        assert SECRET not in str(outcome)
        assert_carries_nothing_of_httpx(outcome)


def test_header_values_may_be_bytes_but_must_be_text():
    client = SegformerClothesClient(endpoint_url="http://127.0.0.1:9/", headers={"X-A": b"abc"})
    assert client._extra_headers == {"X-A": "abc"}
    with pytest.raises(SettingError, match="X-A"):
        SegformerClothesClient(endpoint_url="http://127.0.0.1:9/", headers={"X-A": 5})
