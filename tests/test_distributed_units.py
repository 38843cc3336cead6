"""The parts of segformer_clothes.distributed that need no Ray: the backend recipes and their
share of the rate limit, one batch through SegmentPhotos as an actor would run it, the rows it
gives back, and path lists."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.catalogue import EncodedOutputs
from segformer_clothes.distributed import (
    ClientBackend,
    FinishedPhoto,
    LocalBackend,
    SegmentPhotos,
    read_path_list,
)
from segformer_clothes.errors import (
    BadRequestError,
    EndpointUnreachableError,
    InvalidImageError,
    SettingError,
)
from segformer_clothes.result import SegmentationResult
from segformer_clothes.testing import FakeInferenceServer


def png(size: tuple[int, int] = (24, 32)) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def rows_of(columns: dict[str, np.ndarray]) -> list[FinishedPhoto]:
    count = len(columns["path"])
    return [FinishedPhoto.from_row({k: v[i] for k, v in columns.items()}) for i in range(count)]


def test_client_actors_split_the_rate_limit_and_the_concurrency() -> None:
    backend = ClientBackend({"requests_per_minute": 90, "max_concurrency": 4, "timeout": 5})
    share = backend.for_actors(3).options
    assert share["requests_per_minute"] == 30
    assert share["max_concurrency"] == 1  # never 0: each actor sends one at a time at least
    assert share["timeout"] == 5
    assert backend.for_actors(1).options["requests_per_minute"] == 90
    unlimited = ClientBackend({}).for_actors(2).options
    assert unlimited.get("requests_per_minute") is None  # each actor learns from 429s
    with pytest.raises(ValueError, match="actors must be 1 or more"):
        backend.for_actors(0)


def test_recipes_travel_by_pickle() -> None:
    local = LocalBackend("weights/", batch_size=8, num_gpus=1)
    assert pickle.loads(pickle.dumps(local)) == local
    client = ClientBackend({"endpoint_url": "http://127.0.0.1:1/"})
    assert pickle.loads(pickle.dumps(client)).options == client.options


def test_a_batch_gives_each_photo_its_files_or_its_error_under_its_path(tmp_path: Path) -> None:
    photo = png()
    batch = {
        "path": np.array(["/photos/look.png", "/photos/broken.jpg"], dtype=object),
        "bytes": np.array([photo, b"not a photo"], dtype=object),
    }
    with FakeInferenceServer() as server:
        segment = SegmentPhotos(
            ClientBackend({"endpoint_url": server.url}), {"overlay": True, "crops": True}
        )
        good, bad = rows_of(segment(batch))
        assert server.requests == 1  # the broken photo never left the actor
    assert good.path == "/photos/look.png"
    assert isinstance(good.outcome, EncodedOutputs)
    assert (good.outcome.width, good.outcome.height) == (24, 32)
    assert good.outcome.overlay is not None
    assert good.outcome.overlay[:2] == b"\xff\xd8"  # a JPEG
    assert set(good.outcome.crops) <= set(good.outcome.labels)
    (tmp_path / "look.png").write_bytes(good.outcome.label_map)
    saved = SegmentationResult.load(tmp_path / "look.png")
    assert saved.source == "/photos/look.png"
    assert isinstance(bad.outcome, InvalidImageError)
    assert bad.outcome.source == "/photos/broken.jpg"
    assert not good.backend_failed
    assert not bad.backend_failed


def test_a_backend_that_cannot_be_built_says_so_for_every_photo() -> None:
    segment = SegmentPhotos(lambda: LocalBackend("x", batch_size=0)())
    rows = rows_of(segment({"path": np.array(["/a.png"]), "bytes": np.array([png()])}))
    assert [row.backend_failed for row in rows] == [True]
    assert isinstance(rows[0].outcome, SettingError)
    assert rows[0].outcome.source is None  # the actor's failure, not the photo's


def test_errors_cross_processes_whole() -> None:
    for error in (
        SettingError("batch_size", 0, "a whole number, 1 or more"),
        EndpointUnreachableError("no route", failures=3, source="/a.png", status_code=None),
        BadRequestError("refused", status_code=413, request_id="r-1", source="/b.png"),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert again.__dict__ == error.__dict__


def test_an_error_that_cannot_be_pickled_travels_as_its_text() -> None:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    class Failing:
        def segment_batch(self, images: list[bytes]) -> list[BaseException]:
            return [Local("no route") for _ in images]

        def close(self) -> None:
            pass

    segment = SegmentPhotos(lambda: Failing())  # type: ignore[arg-type,return-value]
    (row,) = rows_of(segment({"path": np.array(["/a.png"]), "bytes": np.array([png()])}))
    assert "no route" in str(row.outcome)
    assert row.outcome.source == "/a.png"  # type: ignore[union-attr]


def test_path_lists_text_and_csv(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("# catalogue\na.jpg\n\n  sub/b.png  \nfile:///abs/c.jpg\n")
    assert read_path_list(tmp_path / "list.txt") == [
        str(tmp_path / "a.jpg"),
        str(tmp_path / "sub" / "b.png"),
        "/abs/c.jpg",
    ]
    (tmp_path / "table.csv").write_text("sku,image\n1,../up.jpg\n2,s3://bucket/k.jpg\n")
    assert read_path_list(tmp_path / "table.csv", "image") == [
        str(tmp_path.parent / "up.jpg"),
        "s3://bucket/k.jpg",
    ]
    with pytest.raises(ValueError, match="has no column 'path'"):
        read_path_list(tmp_path / "table.csv")
