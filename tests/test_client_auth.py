"""Where the token comes from, where it goes, and where it never shows."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest
from PIL import Image

from conftest import MOCK_URL, answer_for, error_response
from segformer_clothes import AuthenticationError, SegformerClothesClient
from segformer_clothes.backends.remote.auth import find_token, is_huggingface_host
from segformer_clothes.testing import FakeInferenceServer

PHOTO = Image.new("RGB", (16, 16), "navy")
ROUTER = "https://router.huggingface.co/hf-inference/models/sayeed99/segformer_b3_clothes"
SECRET = "hf_SuperSecretToken123"


def test_token_order_argument_env_api_env_file(monkeypatch, tmp_path):
    (tmp_path / "token").write_text("hf_from_file\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert find_token() == "hf_from_file"
    monkeypatch.setenv("HF_API_TOKEN", "hf_api")
    assert find_token() == "hf_api"
    monkeypatch.setenv("HF_TOKEN", "hf_env")
    assert find_token() == "hf_env"
    client = SegformerClothesClient(token="hf_arg")
    assert client._credentials.token == "hf_arg"
    assert SegformerClothesClient()._credentials.token == "hf_env"


def test_token_file_path_can_be_named(monkeypatch, tmp_path):
    path = tmp_path / "elsewhere"
    path.write_text("hf_named")
    monkeypatch.setenv("HF_TOKEN_PATH", str(path))
    assert find_token() == "hf_named"


def test_no_token_for_the_router_fails_at_once_with_how_to(mock_client):
    client, handler = mock_client(answer_for, endpoint_url=ROUTER)
    with pytest.raises(AuthenticationError) as caught:
        client.segment(PHOTO)
    assert "HF_TOKEN" in str(caught.value)
    assert "token=" in str(caught.value)
    assert handler.requests == []


def test_custom_endpoint_works_without_a_token(mock_client):
    client, handler = mock_client(answer_for)
    client.segment(PHOTO)
    assert "authorization" not in handler.requests[0].headers


def test_environment_token_goes_only_to_hugging_face(mock_client, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    client, handler = mock_client(answer_for)  # a third-party endpoint
    client.segment(PHOTO)
    assert "authorization" not in handler.requests[0].headers
    client, handler = mock_client(answer_for, endpoint_url=ROUTER)
    client.segment(PHOTO)
    assert handler.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_environment_token_does_not_go_to_a_dedicated_endpoint(mock_client, monkeypatch):
    # Someone's container runs behind it: the token must be given explicitly there.
    monkeypatch.setenv("HF_TOKEN", SECRET)
    endpoint = "https://xyz.us-east-1.aws.endpoints.huggingface.cloud"
    client, handler = mock_client(answer_for, endpoint_url=endpoint)
    client.segment(PHOTO)
    assert "authorization" not in handler.requests[0].headers
    client, handler = mock_client(answer_for, endpoint_url=endpoint, token=SECRET)
    client.segment(PHOTO)
    assert handler.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_a_dedicated_endpoint_may_be_called_without_a_token(mock_client):
    endpoint = "https://public.us-east-1.aws.endpoints.huggingface.cloud"
    client, handler = mock_client(answer_for, endpoint_url=endpoint)
    client.segment(PHOTO)
    assert "authorization" not in handler.requests[0].headers


def test_explicit_token_goes_where_the_client_posts(mock_client):
    client, handler = mock_client(answer_for, token=SECRET)
    client.segment(PHOTO)
    assert handler.requests[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("router.huggingface.co", True),
        ("huggingface.co", True),
        ("xyz.us-east-1.aws.endpoints.huggingface.cloud", False),
        ("someone-app.hf.space", False),
        ("huggingface.co.evil.com", False),
        ("evilhuggingface.co", False),
        ("api.hf.co", True),
    ],
)
def test_hugging_face_hosts(host, expected):
    assert is_huggingface_host(host) is expected


def test_token_in_no_repr_error_or_pickle(mock_client):
    client, _ = mock_client(error_response(401, {"error": "bad token"}), token=SECRET)
    assert SECRET not in repr(client)
    assert "[secure]" in repr(client)
    assert SECRET not in repr(client._credentials)
    with pytest.raises(AuthenticationError) as caught:
        client.segment(PHOTO)
    error = caught.value
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert SECRET not in repr(vars(error))
    assert SECRET.encode() not in pickle.dumps(error)


def _every_log_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.__dict__!r}" for r in records)


@pytest.mark.integration
def test_token_in_no_log_record_at_any_level(caplog):
    with FakeInferenceServer(token=SECRET, faults=["500", "drop", "429"]) as server:
        caplog.set_level(logging.DEBUG)  # root: httpx, httpcore and ours included
        with SegformerClothesClient(endpoint_url=server.url, token=SECRET) as client:
            client._sleep = lambda seconds: None
            client.segment(PHOTO)
        bad = SegformerClothesClient(endpoint_url=server.url, token=SECRET + "x", max_retries=0)
        with bad, pytest.raises(AuthenticationError):
            bad.segment(PHOTO)
    text = _every_log_text(caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # they did log
    assert any(r.name == "segformer_clothes" for r in caplog.records)
    assert SECRET not in text


@pytest.mark.integration
def test_token_is_not_sent_to_another_host_after_a_redirect(monkeypatch):
    with FakeInferenceServer() as elsewhere:
        # Same port rules, another host name: 127.0.0.1 redirects to localhost.
        other_host = elsewhere.url.replace("127.0.0.1", "localhost")
        with FakeInferenceServer(redirect_to=other_host) as first:
            with SegformerClothesClient(endpoint_url=first.url, token=SECRET) as client:
                result = client.segment(PHOTO)
            assert result.size == (16, 16)
            assert first.headers_seen[0]["authorization"] == f"Bearer {SECRET}"
            assert elsewhere.requests == 1
            assert "authorization" not in elsewhere.headers_seen[0]
            assert elsewhere.headers_seen[0]["content-type"] == "image/png"


@pytest.mark.integration
def test_token_is_not_sent_to_another_port_after_a_redirect():
    with FakeInferenceServer() as target, FakeInferenceServer(redirect_to=target.url) as hop:
        with SegformerClothesClient(endpoint_url=hop.url, token=SECRET) as client:
            client.segment(PHOTO)
        assert "authorization" not in target.headers_seen[0]


def test_token_follows_a_redirect_on_the_same_origin():
    mock = httpx.MockTransport(
        lambda request: (
            httpx.Response(307, headers={"Location": "/moved"})
            if request.url.path != "/moved"
            else answer_for(request)
            if request.headers.get("authorization") == f"Bearer {SECRET}"
            else httpx.Response(401)
        )
    )
    client = SegformerClothesClient(
        endpoint_url=MOCK_URL, token=SECRET, http_client=httpx.Client(transport=mock)
    )
    assert client.segment(PHOTO).size == (16, 16)


@pytest.mark.integration
def test_401_and_403_from_a_server_that_requires_a_token():
    with FakeInferenceServer(token=SECRET, forbidden_tokens=["hf_readonly"]) as server:
        for token, words in ((None, "invalid"), ("hf_wrong", "invalid"), ("hf_readonly", "403")):
            client = SegformerClothesClient(endpoint_url=server.url, token=token, max_retries=0)
            with client, pytest.raises(AuthenticationError, match=words):
                client.segment(PHOTO)
        with SegformerClothesClient(endpoint_url=server.url, token=SECRET) as client:
            client.segment(PHOTO)
        assert server.statuses == {401: 2, 403: 1, 200: 1}


def test_token_does_not_follow_a_redirect_even_to_another_hugging_face_host(mock_client):
    moved = httpx.Response(307, headers={"Location": "https://api-inference.huggingface.co/m"})
    client, handler = mock_client(moved, answer_for, endpoint_url=ROUTER, token=SECRET)
    client.segment(PHOTO)
    assert handler.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert "authorization" not in handler.requests[1].headers
