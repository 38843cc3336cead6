"""413 and 415 reach the caller as typed errors that are never retried, and that the command
line records as photos that can never succeed. No server extra needed: a scripted transport."""

from __future__ import annotations

import pytest

import segformer_clothes
from conftest import error_response, jpeg_bytes
from segformer_clothes.cli._run import is_permanent
from segformer_clothes.errors import (
    BadRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

CASES = [
    (413, PayloadTooLargeError, "larger than the server accepts (413)"),
    (415, UnsupportedMediaTypeError, "does not accept this type of image (415)"),
]


@pytest.mark.parametrize(("status", "kind", "words"), CASES)
def test_the_status_maps_to_its_typed_error_and_is_not_retried(
    mock_client, status, kind, words
) -> None:
    client, server = mock_client(error_response(status, {"error": "no thanks"}), max_retries=5)
    with pytest.raises(kind) as caught:
        client.segment(jpeg_bytes())
    error = caught.value
    assert isinstance(error, BadRequestError)
    assert error.status_code == status
    assert error.server_message == "no thanks"
    assert error.request_id == "req-123"
    assert words in str(error)
    assert len(server.requests) == 1  # permanent: the same bytes would be refused again
    assert client.stats.retries == 0


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "kind", "words"), CASES)
async def test_the_async_path_maps_it_the_same(mock_client, status, kind, words) -> None:
    client, server = mock_client(error_response(status), max_retries=5)
    with pytest.raises(kind):
        await client.asegment(jpeg_bytes())
    assert len(server.requests) == 1


@pytest.mark.parametrize(("status", "kind", "words"), CASES)
def test_a_batch_gets_the_error_in_the_photos_place(mock_client, status, kind, words) -> None:
    client, _ = mock_client(error_response(status), max_retries=5)
    outcomes = client.segment_batch([jpeg_bytes(), jpeg_bytes((10, 10))])
    assert [type(outcome) for outcome in outcomes] == [kind, kind]


@pytest.mark.parametrize(("status", "kind", "words"), CASES)
def test_the_command_line_counts_them_invalid(status, kind, words) -> None:
    error = kind("refused", status_code=status)
    assert is_permanent(error)


def test_other_4xx_stay_plain_bad_requests() -> None:
    from segformer_clothes.backends.remote._answers import error_for_status

    error = error_for_status(422, {}, b"{}", url="http://127.0.0.1:9/", source=None)
    assert type(error) is BadRequestError


def test_the_new_errors_are_exported_from_the_package() -> None:
    assert segformer_clothes.PayloadTooLargeError is PayloadTooLargeError
    assert segformer_clothes.UnsupportedMediaTypeError is UnsupportedMediaTypeError
