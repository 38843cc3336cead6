"""`FakeInferenceServer` speaks the wire format of the Inference API, raw over HTTP."""

from __future__ import annotations

import base64
import io
import json
import struct
import time
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image

from segformer_clothes.testing import FakeInferenceServer, encode_answer, pixel_labels

pytestmark = pytest.mark.integration


def png(size: tuple[int, int] = (40, 60), color: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


HTTP: list[httpx.Client] = []


@pytest.fixture(autouse=True, scope="module")
def http_client():
    """One client for the module: building one per request costs more than the request."""
    with httpx.Client(timeout=10) as client:
        HTTP.append(client)
        yield client
        HTTP.clear()


def post(server: FakeInferenceServer, body: bytes = b"", **headers: str) -> httpx.Response:
    headers.setdefault("Content-Type", "image/png")
    return HTTP[0].post(server.url, content=body, headers=headers)


def test_answer_is_the_documented_format(server):
    response = post(server, png())
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    items = response.json()
    assert [item["label"] for item in items] == [
        "Background",
        "Hair",
        "Upper-clothes",
        "Pants",
        "Left-shoe",
        "Right-shoe",
        "Face",
    ]
    covered = np.zeros((60, 40), dtype=int)
    for item in items:
        assert set(item) == {"score", "label", "mask"}
        assert item["score"] is None
        mask = Image.open(io.BytesIO(base64.b64decode(item["mask"])))
        assert mask.format == "PNG"
        assert mask.mode == "L"
        assert mask.size == (40, 60)
        values = np.asarray(mask)
        assert set(np.unique(values).tolist()) <= {0, 255}
        covered += values == 255
    assert (covered == 1).all()  # disjoint, and together they cover every pixel


def test_answers_are_deterministic_functions_of_the_pixels(server):
    first = post(server, png(color="navy")).json()
    assert post(server, png(color="navy")).json() == first
    white = post(server, png(color="white")).json()
    assert [item["label"] for item in white] == ["Background"]


def test_score_one(server):
    with FakeInferenceServer(score=1) as scored:
        assert {item["score"] for item in post(scored, png()).json()} == {1}


def test_answer_from_a_function_or_a_table():
    label_map = np.full((60, 40), 7, dtype=np.uint8)
    with FakeInferenceServer(answer=lambda image: label_map) as server:
        assert [i["label"] for i in post(server, png()).json()] == ["Dress"]
    table = {png(): encode_answer(np.full((60, 40), 16, dtype=np.uint8))}
    with FakeInferenceServer(answer=table) as server:
        assert [i["label"] for i in post(server, png()).json()] == ["Bag"]
        assert "Hair" in [i["label"] for i in post(server, png(color="red")).json()]


def test_answer_is_for_the_upright_image(server):
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (60, 30), "navy").save(buffer, format="JPEG", exif=exif.tobytes())
    items = post(server, buffer.getvalue(), **{"Content-Type": "image/jpeg"}).json()
    mask = Image.open(io.BytesIO(base64.b64decode(items[0]["mask"])))
    assert mask.size == (30, 60)


def test_400_without_content_type_or_image(server):
    response = HTTP[0].post(server.url, content=png())
    assert response.status_code == 400
    assert "Content type" in response.json()["error"]
    assert post(server, b"garbage").status_code == 400


def test_token_required_401_and_403():
    with FakeInferenceServer(token="hf_good", forbidden_tokens=["hf_readonly"]) as server:
        assert post(server, png()).status_code == 401
        assert post(server, png(), Authorization="Bearer hf_bad").status_code == 401
        assert post(server, png(), Authorization="Bearer hf_readonly").status_code == 403
        assert post(server, png(), Authorization="Bearer hf_good").status_code == 200
        seen = [headers.get("authorization") for headers in server.headers_seen]
        assert seen == [None, "Bearer hf_bad", "Bearer hf_readonly", "Bearer hf_good"]


def test_404_mode():
    with FakeInferenceServer(not_found=True) as server:
        response = post(server, png())
        assert response.status_code == 404
        assert "error" in response.json()


def test_rate_limit_answers_429_with_fractional_retry_after():
    with FakeInferenceServer(requests_per_second=0.5, burst=2) as server:
        statuses = [post(server, png()).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = post(server, png())
        assert response.status_code == 429
        retry_after = float(response.headers["Retry-After"])
        assert 0 < retry_after <= 2
        assert "." in response.headers["Retry-After"]
        assert server.statuses == {200: 2, 429: 2}


def test_scripted_faults():
    faults = ["429", "503", "loading", "500", "502", None, "truncate"]
    with FakeInferenceServer(faults=faults, retry_after=0.5, estimated_time=7) as server:
        first = post(server, png())
        assert first.status_code == 429
        assert first.headers["Retry-After"] == "0.5"
        assert post(server, png()).status_code == 503
        loading = post(server, png())
        assert loading.status_code == 503
        assert loading.json() == {
            "error": "Model sayeed99/segformer_b3_clothes is currently loading",
            "estimated_time": 7,
        }
        assert post(server, png()).status_code == 500
        assert post(server, png()).status_code == 502
        assert post(server, png()).status_code == 200
        cut = post(server, png())
        assert cut.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut.content)
        assert post(server, png()).status_code == 200  # the script is over


def test_dropped_connection():
    with FakeInferenceServer(faults=["drop"]) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            post(server, png())
        assert server.statuses[0] == 1
        assert post(server, png()).status_code == 200


def test_slow_answer_beyond_a_timeout():
    server = FakeInferenceServer(faults=["slow"], slow_seconds=0.5)
    with server, pytest.raises(httpx.ReadTimeout):
        HTTP[0].post(server.url, content=png(), headers={"Content-Type": "image/png"}, timeout=0.1)


def test_fault_rate_is_seeded():
    def statuses(seed: int) -> list[int]:
        kinds = ("500", "503")
        with FakeInferenceServer(fault_rate=0.5, fault_kinds=kinds, seed=seed) as server:
            return [post(server, png()).status_code for _ in range(12)]

    first = statuses(1)
    assert statuses(1) == first
    assert {500, 503, 200} >= set(first)
    assert 200 in first


def test_redirect():
    with FakeInferenceServer(redirect_to="http://elsewhere.test/x") as server:
        response = post(server, png())
        assert response.status_code == 307
        assert response.headers["Location"] == "http://elsewhere.test/x"


def test_counters_and_reset(server):
    post(server, png())
    post(server, png(), **{"X-Trace": "abc"})
    assert server.requests == 2
    assert server.images_seen == 2
    assert server.statuses == {200: 2}
    assert server.headers_seen[-1]["x-trace"] == "abc"
    assert server.max_in_flight == 1
    server.reset()
    assert server.requests == 0
    assert not server.statuses


def test_cache_answers_repeated_photos_identically():
    with FakeInferenceServer(cache=True) as server:
        first = post(server, png()).content
        assert post(server, png()).content == first
        assert server.images_seen == 2


def test_url_needs_a_running_server_and_bad_switches_are_refused():
    idle = FakeInferenceServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = idle.url
    with pytest.raises(ValueError, match="unknown fault"):
        FakeInferenceServer(faults=["explode"])
    with pytest.raises(ValueError, match="fault_rate"):
        FakeInferenceServer(fault_rate=2)


def test_pixel_labels_is_a_plausible_person():
    label_map = pixel_labels(Image.new("RGB", (50, 100), "black"))
    assert label_map.shape == (100, 50)
    assert label_map[5, 25] == 2  # hair on top
    assert label_map[50, 25] == 6 or label_map[40, 25] == 4
    assert label_map[50, 0] == 0  # background at the side
    assert label_map[98, 16] == 9
    assert label_map[98, 34] == 10


def test_statuses_are_counted_under_plain_ints() -> None:
    photo = io.BytesIO()
    Image.new("RGB", (4, 4)).save(photo, format="PNG")
    with FakeInferenceServer(faults=["500"]) as server:
        for _ in range(2):
            httpx.post(server.url, content=photo.getvalue(), headers={"content-type": "image/png"})
        assert dict(server.statuses) == {500: 1, 200: 1}
        assert all(type(status) is int for status in server.statuses)


def test_the_server_answers_with_the_formats_encoder() -> None:
    # One encoder for the server, SegmentationResult.to_response and users' tables.
    from segformer_clothes.formats import encode_answer as formats_encode_answer

    assert encode_answer is formats_encode_answer


# --------------------------------------------------------------------------- hostile modes


def raw_post(server: FakeInferenceServer, **headers: str) -> tuple[httpx.Response, bytes]:
    """The status, headers and raw (undecoded) body of one answer."""
    headers.setdefault("Content-Type", "image/png")
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", server.url, content=png(), headers=headers) as response,
    ):
        return response, b"".join(response.iter_raw())


def test_hostile_modes_send_what_they_say():
    faults = ["gzip_lie", "deep_json", "huge_int", "empty", "no_content", "no_location"]
    with FakeInferenceServer(faults=faults) as server:
        response, body = raw_post(server)
        assert response.headers["content-encoding"] == "gzip"
        assert json.loads(body)[0]["label"] == "Background"  # plain JSON despite the label
        response, body = raw_post(server)
        assert body == b"[" * 100_000 + b"]" * 100_000
        response, body = raw_post(server)
        assert body == b"[" + b"9" * 100_000 + b"]"
        response, body = raw_post(server)
        assert (response.status_code, body) == (200, b"")
        response, body = raw_post(server)
        assert response.status_code == 204
        response, _ = raw_post(server)
        assert response.status_code == 302
        assert "location" not in response.headers


def test_echo_repeats_the_credentials_it_was_sent():
    with FakeInferenceServer(faults=["echo"]) as server:
        response, body = raw_post(server, Authorization="Bearer hf_echoed")
    assert response.status_code == 401
    assert "Bearer hf_echoed" in json.loads(body)["error"]
    assert response.headers["x-echo-authorization"] == "Bearer hf_echoed"


def test_bomb_is_small_on_the_wire_and_expands_to_bomb_bytes():
    with FakeInferenceServer(faults=["bomb", "huge"], bomb_bytes=8 * 2**20) as server:
        response, body = raw_post(server)
        assert response.headers["content-encoding"] == "gzip"
        assert len(body) < 2**16
        expanded = zlib.decompress(body, 31)
        assert len(expanded) == 8 * 2**20
        assert json.loads(expanded)[0]["label"] == "Background"  # an answer padded with spaces
        response, body = raw_post(server)
        assert len(body) == 8 * 2**20


def test_mask_bomb_claims_ten_billion_pixels():
    with FakeInferenceServer(faults=["mask_bomb"]) as server:
        _, body = raw_post(server)
    mask = base64.b64decode(json.loads(body)[0]["mask"])
    assert len(mask) < 2000
    assert struct.unpack(">II", mask[16:24]) == (100_000, 100_000)


@pytest.mark.timeout(30)
def test_trickle_sends_one_byte_at_a_time():
    server = FakeInferenceServer(faults=["trickle"], trickle_seconds=0.01)
    headers = {"Content-Type": "image/png"}
    with (
        server,
        httpx.Client(timeout=10) as client,
        client.stream("POST", server.url, content=png(), headers=headers) as response,
    ):
        started = time.monotonic()
        pieces = [piece for piece, _ in zip(response.iter_raw(), range(20), strict=False)]
    assert all(len(piece) == 1 for piece in pieces)
    assert time.monotonic() - started >= 0.15


def test_redirect_loop_and_a_redirect_within_the_server():
    with FakeInferenceServer(redirect_loop=True) as server:
        response = post(server, png())
        assert response.status_code == 307
        assert server.url.endswith(response.headers["location"])
    with FakeInferenceServer() as server:
        server.redirect_to = server.url + "/moved"
        assert post(server, png()).status_code == 307
        moved = HTTP[0].post(
            server.redirect_to, content=png(), headers={"Content-Type": "image/png"}
        )
        assert moved.status_code == 200
