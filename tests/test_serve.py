"""`segformer-clothes serve`'s server (`SegmentationServer`) on a stand-in model: the wire
format, its errors, dynamic batching, the bounded queue, tokens, loading and stopping.

Every server listens on a free port of 127.0.0.1 and is stopped by the test that started it.
The model is `serve_support.Painter` (no torch); tests/test_serve_local.py serves the real
SegFormer code on a random-weight model.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest
from PIL import Image

from segformer_clothes import (
    AuthenticationError,
    ModelLoadingError,
    ModelNotFoundError,
    SegformerClothesClient,
    SettingError,
)
from segformer_clothes.images import load_image
from segformer_clothes.serve import ServeSettings
from segformer_clothes.testing import pixel_labels
from serve_support import Painter, drawn_photo, encoded, post

if TYPE_CHECKING:
    from segformer_clothes.serve import SegmentationServer

pytestmark = [pytest.mark.serve, pytest.mark.integration]


@pytest.fixture
def painter() -> Painter:
    return Painter()


@pytest.fixture
def start(painter: Painter) -> Iterator[Callable[..., SegmentationServer]]:
    """Start a server on the painter (or as told) on a free port; each is stopped afterwards."""
    # Imported here: collecting this file must not need the extra (the plain session skips it
    # by its marker).
    from segformer_clothes.serve import SegmentationServer

    started: list[SegmentationServer] = []

    def make(**options: object) -> SegmentationServer:
        settings = options.pop("settings", ServeSettings())
        if "load" not in options:
            options["segmenter"] = painter
        server = SegmentationServer(settings=settings, port=0, **options)  # type: ignore[arg-type]
        started.append(server.start())
        return server

    yield make
    painter.gate.set()
    for server in started:
        server.stop()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# ----------------------------------------------------------------- the wire format


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_our_client_gets_the_label_map_of_the_upright_photo(start, orientation) -> None:
    server = start()
    photo = encoded(drawn_photo((60, 40)), orientation=orientation)
    with SegformerClothesClient(endpoint_url=server.url, max_retries=0) as client:
        result = client.segment(photo)
    upright = load_image(photo)
    assert result.size == upright.size
    assert result.size == ((40, 60) if orientation in (6, 8) else (60, 40))
    assert np.array_equal(result.label_map, pixel_labels(upright))


def test_the_answer_is_the_apis_json_list(start) -> None:
    server = start()
    response = post(
        server.url + "models/sayeed99/segformer_b3_clothes", encoded(drawn_photo((30, 50)))
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    items = response.json()
    assert [item["label"] for item in items] == [
        "Background", "Hair", "Upper-clothes", "Pants", "Left-shoe", "Right-shoe", "Face",
    ]  # fmt: skip
    for item in items:
        assert set(item) == {"score", "label", "mask"}
        mask = Image.open(io.BytesIO(base64.b64decode(item["mask"])))
        assert (mask.mode, mask.size) == ("L", (30, 50))
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 255}


@pytest.mark.parametrize("kind", ["PNG", "WEBP", "BMP"])
def test_other_types_are_decoded_too(start, kind) -> None:
    server = start()
    photo = drawn_photo((24, 18))
    response = post(server.url, encoded(photo, kind), f"image/{kind.lower()}; charset=binary")
    assert response.status_code == 200
    assert len(response.json()) >= 1


def test_a_json_body_with_base64_inputs_is_taken(start) -> None:
    server = start()
    photo = encoded(drawn_photo((20, 30)))
    body = json.dumps(
        {"inputs": base64.b64encode(photo).decode(), "parameters": {"threshold": 0.5}}
    )
    response = post(server.url, body.encode(), "application/json")
    assert response.status_code == 200
    labels = pixel_labels(load_image(photo))
    assert len(response.json()) == len(np.unique(labels))


def test_huggingface_hub_inference_client_parses_the_answers(start, tmp_path: Path) -> None:
    from huggingface_hub import InferenceClient

    server = start()
    path = tmp_path / "look.jpg"
    path.write_bytes(encoded(drawn_photo((36, 48))))
    client = InferenceClient(model=server.url)
    # A path: sent as raw bytes with its type. With a parameter: sent as JSON, base64 inputs.
    for answer in (client.image_segmentation(path), client.image_segmentation(path, threshold=0.9)):
        labels = [element.label for element in answer]
        assert labels[0] == "Background"
        assert "Upper-clothes" in labels
        assert all(element.mask.size == (36, 48) for element in answer)


# ----------------------------------------------------------------- errors


def test_errors_come_in_the_services_shapes(start) -> None:
    server = start(settings=ServeSettings(max_body_bytes=1000))
    photo = encoded(drawn_photo((8, 8)))
    cases = {
        "no type": (post(server.url, photo, None), 400, "no Content-Type"),
        "not an image": (post(server.url, b"certainly not a JPEG"), 400, "not a usable image"),
        "empty": (post(server.url, b""), 400, "not a usable image"),
        "wrong type": (post(server.url, photo, "text/plain"), 415, "'text/plain' is not accepted"),
        "form": (
            post(server.url, photo, "application/x-www-form-urlencoded"),
            415,
            "is not accepted",
        ),
        "too large": (post(server.url, b"x" * 1001), 413, "larger than this server accepts"),
    }
    for name, (response, status, words) in cases.items():
        assert response.status_code == status, name
        assert words in response.json()["error"], name
        assert response.headers["x-request-id"], name
    assert server.metrics.statuses[400] == 3
    assert painter_saw_nothing(server)


def painter_saw_nothing(server: SegmentationServer) -> bool:
    return server.metrics.snapshot()["batches"] == 0


def test_a_body_without_length_is_refused_once_past_the_limit(start) -> None:
    server = start(settings=ServeSettings(max_body_bytes=4096))

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 1024

    response = httpx.post(server.url, content=chunks(), headers={"Content-Type": "image/png"})
    assert response.status_code == 413


def test_our_client_gets_the_typed_errors_without_retrying(start) -> None:
    from segformer_clothes import PayloadTooLargeError

    server = start(settings=ServeSettings(max_body_bytes=100))
    with SegformerClothesClient(endpoint_url=server.url, max_retries=3) as client:
        with pytest.raises(PayloadTooLargeError):
            client.segment(encoded(drawn_photo((64, 64))))
        assert client.stats.requests == 1


def test_a_bad_image_among_good_ones_fails_alone(start, painter) -> None:
    server = start(settings=ServeSettings(max_wait_ms=200))
    photos = [encoded(drawn_photo((20 + i, 30), seed=i)) for i in range(5)]
    bodies = [*photos[:2], photos[2][: len(photos[2]) // 2], *photos[3:]]  # one truncated
    painter.gate.clear()  # hold the first batch so that the others gather behind it
    with ThreadPoolExecutor(len(bodies)) as pool:
        futures = [pool.submit(post, server.url, body) for body in bodies]
        # The broken one is answered as soon as it is decoded; the four others wait.
        wait_for(
            lambda: server.metrics.admitted == 4 and server.metrics.statuses[400] == 1,
            "four photos waiting and the broken one answered",
        )
        painter.gate.set()
        responses = [future.result() for future in futures]
    assert [r.status_code for r in responses] == [200, 200, 400, 200, 200]
    assert "damaged or truncated" in responses[2].json()["error"]
    for body, response in zip(bodies, responses, strict=True):
        if response.status_code == 200:
            assert [i["label"] for i in response.json()][:1] == ["Background"]
            assert len(response.json()) == len(np.unique(pixel_labels(load_image(body))))
    assert sum(painter.batches) == 4  # the broken photo never reached the model


# ----------------------------------------------------------------- batching and the queue


def test_eight_concurrent_clients_are_served_in_batches(start, painter) -> None:
    server = start(settings=ServeSettings(max_batch_size=8, max_wait_ms=50))
    painter.gate.clear()

    def one_client(index: int) -> list[tuple[int, int]]:
        with SegformerClothesClient(endpoint_url=server.url, max_retries=0) as client:
            photos = [encoded(drawn_photo((20 + index, 20 + k), seed=k)) for k in range(3)]
            return [result.size for result in client.segment_many(photos)]

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one_client, index) for index in range(8)]
        # Hold the model until all eight clients have a photo in: they then share batches.
        wait_for(lambda: server.metrics.admitted >= 8, "eight requests in")
        painter.gate.set()
        sizes = [future.result() for future in futures]
    assert sizes == [[(20 + i, 20 + k) for k in range(3)] for i in range(8)]
    metrics = httpx.get(server.url + "metrics").json()
    assert metrics["images_served"] == 24
    assert metrics["max_batch_size_seen"] > 1
    assert sum(int(size) * n for size, n in metrics["batch_sizes"].items()) == 24
    assert max(painter.batches) > 1
    assert metrics["queue_length"] == 0
    assert metrics["admitted"] == 0


def test_a_full_queue_answers_429_with_retry_after_and_our_client_waits(start, painter) -> None:
    server = start(settings=ServeSettings(max_queue=2, max_batch_size=1, max_wait_ms=0))
    painter.gate.clear()
    photo = encoded(drawn_photo((16, 16)))
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(post, server.url, photo) for _ in range(2)]
        wait_for(lambda: server.metrics.admitted == 2, "the queue full")
        refused = post(server.url, photo)
        assert refused.status_code == 429
        assert "queue is full" in refused.json()["error"]
        retry_after = refused.headers["Retry-After"]
        assert retry_after.isdigit()
        assert int(retry_after) >= 1

        client = SegformerClothesClient(endpoint_url=server.url, max_retries=1)
        waits: list[float] = []
        client._sleep = lambda seconds: (waits.append(seconds), time.sleep(seconds))[1]
        with client:
            later = pool.submit(client.segment, photo)
            wait_for(lambda: server.metrics.statuses[429] >= 2, "our client refused too")
            painter.gate.set()
            assert later.result().size == (16, 16)
        assert [response.result().status_code for response in held] == [200, 200]
    # It waited what the server asked for; a 429 that says how long to wait does not use up
    # max_retries, so however many it got, its one retry is left for other failures.
    assert client.stats.rate_limited >= 1
    # The server asks for whole seconds: the queue's length in batches, times a batch's time.
    assert waits
    assert all(wait == float(int(wait)) and wait >= 1 for wait in waits), waits


# ----------------------------------------------------------------- token


def test_a_token_is_required_and_never_logged(start, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    token = "serve-secret-7f3a"
    server = start(settings=ServeSettings(token=token), access_log=True)
    photo = encoded(drawn_photo((10, 12)))
    assert post(server.url, photo).status_code == 401
    assert post(server.url, photo, Authorization="Bearer wrong").status_code == 401
    assert post(server.url, photo, Authorization=f"Basic {token}").status_code == 401
    assert post(server.url, photo, Authorization=f"Bearer {token}").status_code == 200
    assert httpx.get(server.url + "health").status_code == 200  # health needs no token
    assert httpx.get(server.url + "metrics").status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "metrics", headers=headers).status_code == 200
    anonymous = SegformerClothesClient(endpoint_url=server.url, max_retries=0)
    with anonymous, pytest.raises(AuthenticationError):
        anonymous.segment(photo)
    with SegformerClothesClient(endpoint_url=server.url, token=token) as client:
        assert client.segment(photo).size == (10, 12)
    assert token not in caplog.text
    assert token not in repr(server.state.settings)


def test_settings_are_checked() -> None:
    with pytest.raises(SettingError, match="max_wait_ms must be a number, 0 or more, got -1"):
        ServeSettings(max_wait_ms=-1)
    with pytest.raises(SettingError, match="max_batch_size must be a whole number, 1 or more"):
        ServeSettings(max_batch_size=True)
    with pytest.raises(SettingError) as caught:
        ServeSettings(token="  ")
    assert "<hidden>" in str(caught.value)


# ----------------------------------------------------------------- loading and stopping


def test_503_with_estimated_time_while_the_model_loads(start, painter) -> None:
    loaded = threading.Event()

    def load() -> Painter:
        loaded.wait(60)
        return painter

    server = start(load=load, model_name="clothes/model", settings=ServeSettings(load_estimate=20))
    response = post(server.url, encoded(drawn_photo((8, 8))))
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "Model clothes/model is currently loading"
    assert 1 <= body["estimated_time"] <= 20
    health = httpx.get(server.url + "health")
    assert (health.status_code, health.json()["status"]) == (503, "loading")
    with SegformerClothesClient(endpoint_url=server.url, max_retries=0) as client:
        with pytest.raises(ModelLoadingError) as caught:
            client.segment(encoded(drawn_photo((8, 8))))
        assert caught.value.estimated_time == pytest.approx(body["estimated_time"], abs=2)
    loaded.set()
    server.wait_until_ready()
    assert httpx.get(server.url + "health").json() == {"status": "ready", "model": "clothes/model"}
    assert post(server.url, encoded(drawn_photo((8, 8)))).status_code == 200


def test_a_model_that_fails_to_load_stops_the_server(start) -> None:
    def load() -> Painter:
        raise ModelNotFoundError("no weights in /nowhere")

    server = start(load=load)
    with pytest.raises(ModelNotFoundError, match="no weights"):
        server.wait_until_ready()
    server._thread.join(30)
    assert not server._thread.is_alive()


def test_stopping_answers_what_is_in_flight_and_503_on_open_connections(start, painter) -> None:
    server = start(settings=ServeSettings(max_wait_ms=0))
    photo = encoded(drawn_photo((14, 10)))
    painter.gate.clear()
    with ThreadPoolExecutor(3) as pool, httpx.Client() as open_connection:
        assert open_connection.get(server.url + "health").status_code == 200
        in_flight = [pool.submit(post, server.url, photo) for _ in range(3)]
        wait_for(lambda: server.metrics.admitted == 3, "three requests in flight")
        # What SIGTERM does first: from now on nothing new is admitted...
        server.state.stop_taking_requests()
        late = open_connection.post(
            server.url, content=photo, headers={"Content-Type": "image/jpeg"}
        )
        assert late.status_code == 503
        assert late.headers["connection"] == "close"
        assert "stopping" in late.json()["error"]
        # ...then the server stops, once the requests in flight are answered.
        stopping = pool.submit(server.stop)
        time.sleep(0.3)
        assert not stopping.done()
        painter.gate.set()
        stopping.result(timeout=60)
        assert [response.result().status_code for response in in_flight] == [200, 200, 200]
    with pytest.raises(httpx.ConnectError):
        post(server.url, photo)
