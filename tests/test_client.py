"""The client against `httpx.MockTransport`: status mapping, retries and their waits, answers
cut short or in the wrong format, inputs, settings. Nothing here really sleeps."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import MOCK_URL, answer_for, error_response, jpeg_bytes
from segformer_clothes import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientStats,
    InvalidImageError,
    ModelLoadingError,
    ModelNotFoundError,
    NetworkError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    SegformerClothesClient,
    ServerError,
)
from segformer_clothes.testing import encode_answer, pixel_labels

PHOTO = Image.new("RGB", (24, 32), "navy")


STATUS_CASES = [
    (400, {"error": "Content type None not supported"}, BadRequestError, "rejected"),
    (401, {"error": "Invalid credentials"}, AuthenticationError, "invalid"),
    (403, {"error": "no permission"}, AuthenticationError, "Inference Providers"),
    (404, {"error": "Model not found"}, ModelNotFoundError, "endpoint_url"),
    (418, {"error": "teapot"}, BadRequestError, "418"),
    (408, {"error": "slow upload"}, RequestTimeoutError, "408"),
    (429, {"error": "Rate limit reached"}, RateLimitError, "429"),
    (500, {"error": "boom"}, ServerError, "500"),
    (502, {"error": "bad gateway"}, ServerError, "502"),
    (503, {"error": "Service Unavailable"}, ServerError, "503"),
    (503, {"error": "Model x is currently loading", "estimated_time": 12.5}, ModelLoadingError, ""),
    (504, {"error": "gateway timeout"}, ServerError, "504"),
]


@pytest.mark.parametrize(("status", "body", "kind", "words"), STATUS_CASES)
def test_status_maps_to_its_error(mock_client, status, body, kind, words):
    client, handler = mock_client(error_response(status, body), max_retries=0)
    with pytest.raises(kind) as caught:
        client.segment(PHOTO)
    error = caught.value
    assert type(error) is kind
    assert error.status_code == status
    assert error.request_id == "req-123"
    assert error.server_message == body["error"]
    assert error.source == "<PIL image RGB 24x32>"
    assert words in str(error)
    assert len(handler.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "body", "kind", "words"), STATUS_CASES)
async def test_status_maps_to_its_error_async(mock_client, status, body, kind, words):
    client, _ = mock_client(error_response(status, body), max_retries=0)
    with pytest.raises(kind) as caught:
        await client.asegment(PHOTO)
    assert caught.value.status_code == status
    assert caught.value.request_id == "req-123"
    assert words in str(caught.value)
    await client.aclose()


def test_auth_errors_say_which_problem(mock_client):
    client, _ = mock_client(error_response(401), max_retries=0)
    with pytest.raises(AuthenticationError, match="invalid or expired"):
        client.segment(PHOTO)
    client, _ = mock_client(error_response(403), max_retries=0)
    with pytest.raises(AuthenticationError, match="permission"):
        client.segment(PHOTO)


def test_404_suggests_endpoint_or_local(mock_client):
    client, _ = mock_client(error_response(404), max_retries=0)
    with pytest.raises(ModelNotFoundError) as caught:
        client.segment(PHOTO)
    assert "endpoint_url" in str(caught.value)
    assert "LocalSegmenter" in str(caught.value)


def test_loading_error_carries_estimated_time(mock_client):
    body = {"error": "Model is currently loading", "estimated_time": 20.0}
    client, _ = mock_client(error_response(503, body), max_retries=0)
    with pytest.raises(ModelLoadingError) as caught:
        client.segment(PHOTO)
    assert caught.value.estimated_time == 20.0


def test_transient_faults_are_retried_with_backoff(mock_client):
    client, handler = mock_client(
        error_response(500), error_response(502), httpx.ConnectError("refused"), answer_for
    )
    result = client.segment(PHOTO)
    assert result.size == (24, 32)
    assert len(handler.requests) == 4
    assert client.stats == ClientStats(requests=4, retries=3, succeeded=1)
    # Exponential backoff 0.5, 1, 2 s, each with jitter between half and all of it.
    for wait, full in zip(client.waits.seconds, (0.5, 1.0, 2.0), strict=True):
        assert full / 2 <= wait <= full


@pytest.mark.anyio
async def test_transient_faults_are_retried_async(mock_client):
    client, handler = mock_client(
        error_response(503), httpx.ReadTimeout("slow"), error_response(429), answer_for
    )
    result = await client.asegment(PHOTO)
    assert result.size == (24, 32)
    assert len(handler.requests) == 4
    assert client.stats.retries == 3
    assert client.stats.rate_limited == 1
    await client.aclose()


@pytest.mark.parametrize(
    "failure",
    [
        error_response(408),
        error_response(429),
        error_response(500),
        error_response(503, {"error": "Model is currently loading", "estimated_time": 1}),
        error_response(504),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_each_transient_fault_is_retried(mock_client, failure):
    client, handler = mock_client(failure, answer_for)
    assert client.segment(PHOTO).size == (24, 32)
    assert len(handler.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_4xx_are_not_retried(mock_client, status):
    client, handler = mock_client(error_response(status), answer_for)
    with pytest.raises(APIError):
        client.segment(PHOTO)
    assert len(handler.requests) == 1
    assert client.stats == ClientStats(requests=1, failed=1)


def test_gives_up_after_max_retries(mock_client):
    client, handler = mock_client(error_response(500), max_retries=3)
    with pytest.raises(ServerError):
        client.segment(PHOTO)
    assert len(handler.requests) == 4
    assert client.stats.retries == 3
    assert client.stats.failed == 1


def test_max_retries_zero_turns_retries_off(mock_client):
    client, handler = mock_client(error_response(503), answer_for, max_retries=0)
    with pytest.raises(ServerError):
        client.segment(PHOTO)
    assert len(handler.requests) == 1


def test_a_429_that_says_how_long_does_not_use_up_retries(mock_client):
    paced = error_response(429, **{"Retry-After": "0.25"})
    client, handler = mock_client(paced, paced, paced, paced, answer_for, max_retries=1)
    assert client.segment(PHOTO).size == (24, 32)
    assert len(handler.requests) == 5
    assert client.stats.rate_limited == 4
    # Each retry waits what the server asked (the rate limiter's pause is separate).
    assert client.waits.seconds.count(0.25) >= 4


def test_retry_after_as_http_date_is_honoured(mock_client):
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    client, _ = mock_client(error_response(429, **{"Retry-After": later}), answer_for)
    client.segment(PHOTO)
    assert any(25 <= wait <= 31 for wait in client.waits.seconds)


def test_server_waits_are_capped(mock_client):
    loading = error_response(503, {"error": "loading", "estimated_time": 10_000})
    client, _ = mock_client(loading, answer_for)
    client.segment(PHOTO)
    assert max(client.waits.seconds) == 60.0


def test_an_answer_cut_short_is_retried(mock_client):
    full = json.dumps(encode_answer(pixel_labels(PHOTO))).encode()
    for cut in (full[: len(full) // 2], full[:-1], full[:1]):
        client, handler = mock_client(httpx.Response(200, content=cut), answer_for)
        assert client.segment(PHOTO).size == (24, 32)
        assert len(handler.requests) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway</html>",
        b'{"error": "unexpected"}',
        b"[]",
        json.dumps([{"label": "Cape", "mask": "", "score": 1}]).encode(),
    ],
)
def test_a_complete_answer_in_the_wrong_format_is_not_retried(mock_client, body):
    client, handler = mock_client(httpx.Response(200, content=body), answer_for)
    with pytest.raises(ResponseFormatError) as caught:
        client.segment(PHOTO)
    assert caught.value.source == "<PIL image RGB 24x32>"
    assert len(handler.requests) == 1


def test_transport_errors_map_and_do_not_chain_the_request(mock_client):
    client, _ = mock_client(httpx.ConnectError("refused"), max_retries=0)
    with pytest.raises(NetworkError) as caught:
        client.segment(PHOTO)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    client, _ = mock_client(httpx.ReadTimeout("slow"), max_retries=0)
    with pytest.raises(RequestTimeoutError, match="timeout"):
        client.segment(PHOTO)


def test_retries_are_logged(mock_client, caplog):
    client, _ = mock_client(error_response(500), answer_for)
    with caplog.at_level(logging.DEBUG, logger="segformer_clothes"):
        client.segment(PHOTO)
    retries = [r for r in caplog.records if r.name == "segformer_clothes" and "retrying" in r.msg]
    assert len(retries) == 1
    assert retries[0].levelno == logging.INFO


def test_request_carries_content_type_accept_and_headers(mock_client):
    client, handler = mock_client(answer_for, headers={"X-Team": "catalogue"})
    client.segment(jpeg_bytes())
    client.segment(PHOTO)
    jpeg_request, png_request = handler.requests
    assert jpeg_request.headers["content-type"] == "image/jpeg"
    assert png_request.headers["content-type"] == "image/png"
    assert jpeg_request.headers["accept"] == "application/json"
    assert jpeg_request.headers["x-team"] == "catalogue"
    assert jpeg_request.method == "POST"
    assert str(jpeg_request.url) == MOCK_URL


def test_default_url_is_the_router():
    client = SegformerClothesClient(token="hf_x")
    assert str(client.url) == (
        "https://router.huggingface.co/hf-inference/models/sayeed99/segformer_b3_clothes"
    )
    other = SegformerClothesClient("mattmdjaga/segformer_b2_clothes", token="hf_x")
    assert str(other.url).endswith("/models/mattmdjaga/segformer_b2_clothes")


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("timeout", 0),
        ("max_retries", -1),
        ("max_concurrency", 0),
        ("requests_per_minute", 0),
        ("max_side", 0),
        ("endpoint_url", "ftp://example.com/x"),
    ],
)
def test_bad_settings_are_refused(keyword, value):
    with pytest.raises(ValueError, match=keyword):
        SegformerClothesClient(**{"endpoint_url": MOCK_URL, keyword: value})


def test_invalid_input_fails_before_any_request(mock_client, tmp_path):
    client, handler = mock_client(answer_for)
    (tmp_path / "empty.jpg").write_bytes(b"")
    for bad in (tmp_path / "missing.jpg", tmp_path, tmp_path / "empty.jpg", b"not an image"):
        with pytest.raises(InvalidImageError):
            client.segment(bad)
    assert handler.requests == []
    assert client.stats.failed == 4


def test_max_side_downscales_and_brings_the_label_map_back(mock_client):
    client, handler = mock_client(answer_for, max_side=50)
    photo = Image.new("RGB", (200, 100), "navy")
    result = client.segment(photo)
    sent = Image.open(__import__("io").BytesIO(handler.requests[0].content))
    assert sent.size == (50, 25)
    assert result.size == (200, 100)
    expected = np.asarray(
        Image.fromarray(pixel_labels(sent)).resize((200, 100), Image.Resampling.NEAREST)
    )
    assert np.array_equal(result.label_map, expected)


def test_result_keeps_the_photo_for_overlays(mock_client, photo_path):
    client, _ = mock_client(answer_for)
    result = client.segment(photo_path)
    assert result.source == photo_path
    assert result.overlay().size == (48, 64)
    with photo_path.open("rb") as file:
        from_file = client.segment(file)
    assert from_file.source == str(photo_path)
    assert from_file.overlay().size == (48, 64)


def test_stats_count_requests_and_outcomes(mock_client):
    client, _ = mock_client(error_response(429, **{"Retry-After": "0.1"}), answer_for)
    client.segment(PHOTO)
    assert client.stats == ClientStats(requests=2, retries=1, rate_limited=1, succeeded=1)


def test_endless_redirects_stop_without_retrying(mock_client):
    hops = iter(range(100))
    onwards = lambda request: httpx.Response(307, headers={"Location": f"/hop{next(hops)}"})  # noqa: E731
    client, handler = mock_client(onwards)
    with pytest.raises(ResponseFormatError, match="more than 5 redirects"):
        client.segment(PHOTO)
    assert len(handler.requests) == 6


def test_a_redirect_loop_is_named_and_not_retried(mock_client):
    loop = httpx.Response(307, headers={"Location": "/again"})
    client, handler = mock_client(loop)
    with pytest.raises(ResponseFormatError, match="redirects in a loop"):
        client.segment(PHOTO)
    assert len(handler.requests) == 2
