"""`segment --ray` and segformer_clothes.distributed on a real local Ray bound to 127.0.0.1:
the same files and records as one machine, resume, one shared rate limit, an actor killed
mid-run, errors built on the actors, and path lists (text, CSV, Parquet, file:// URIs).

One Ray for the module (a few logical CPUs per core, a small object store, its own temporary
folder); the command run in-process joins it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.catalogue import read_records
from segformer_clothes.cli import main
from segformer_clothes.testing import FakeInferenceServer

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    from segformer_clothes.distributed import ray_session

    with ray_session(num_cpus=8, object_store_memory=300 * 1024**2):
        import ray  # after the session: it sets what Ray reads when imported

        # Test classes travel to the workers by value: the workers cannot import this module.
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        yield


def test_the_local_ray_stays_on_the_loopback_interface() -> None:
    import ray

    assert [node["NodeManagerAddress"] for node in ray.nodes()] == ["127.0.0.1"]
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")


def draw_photos(folder: Path, count: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for i in range(count):
        where = folder / ("sub" if i % 3 == 0 else "") / f"look_{i}.png"
        where.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, size=(30 + i, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(where)
    (folder / "broken.jpg").write_bytes(b"not a photo")
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segformer_clothes.testing import save_random_segformer

    return save_random_segformer(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return draw_photos(tmp_path_factory.mktemp("catalogue") / "photos")


def files_of(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "results.jsonl"
    }


def records_of(out: Path) -> list[dict[str, Any]]:
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        record.pop("seconds")
    return sorted(records, key=lambda r: r["name"])


def test_ray_writes_the_same_files_and_records_as_one_machine(
    photos: Path, model: Path, tmp_path: Path
) -> None:
    common = ["--local", "--model", str(model), "--device", "cpu", "--batch-size", "2",
              "--overlay", "--crops", "--quiet"]  # fmt: skip
    plain = main(["segment", str(photos), "--out", str(tmp_path / "plain"), *common])
    on_ray = main(["segment", str(photos), "--out", str(tmp_path / "ray"), "--ray", *common])
    assert plain == on_ray == 3  # the broken photo can never succeed, on either
    assert files_of(tmp_path / "ray") == files_of(tmp_path / "plain")
    assert len(files_of(tmp_path / "ray")) > 12  # label maps, overlays and crops
    assert records_of(tmp_path / "ray") == records_of(tmp_path / "plain")
    assert len(records_of(tmp_path / "ray")) == 13


def test_the_garment_table_of_a_ray_run_is_that_of_one_machine(
    photos: Path, model: Path, tmp_path: Path
) -> None:
    common = ["--local", "--model", str(model), "--device", "cpu", "--table", "parquet",
              "--quiet"]  # fmt: skip
    plain = main(["segment", str(photos), "--out", str(tmp_path / "plain"), *common])
    on_ray = main(["segment", str(photos), "--out", str(tmp_path / "ray"), "--ray", *common])
    assert plain == on_ray == 3
    with (tmp_path / "ray" / "garments.csv").open(encoding="utf-8", newline="") as lines:
        rows = sorted(csv.DictReader(lines), key=lambda row: row["name"])
    with (tmp_path / "plain" / "garments.csv").open(encoding="utf-8", newline="") as lines:
        assert rows == sorted(csv.DictReader(lines), key=lambda row: row["name"])
    done = {r["name"] for r in read_records(tmp_path / "ray" / "results.jsonl").values()
            if r["status"] == "ok"}  # fmt: skip
    assert len(done) == 12
    assert {row["name"] for row in rows} == done  # every photo done, in its own rows
    assert (tmp_path / "ray" / "garments.parquet").stat().st_size > 0


def test_resume_sends_only_what_is_left(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeInferenceServer() as server:
        args = ["segment", str(photos), "--out", str(out), "--endpoint-url", server.url,
                "--ray", "--quiet"]  # fmt: skip
        assert main(args) == 3
        assert server.requests == 12  # the broken photo is refused before any request
        assert main(args) == 3
        assert server.requests == 12  # done before: nothing is read or sent again
        (out / "labels" / "look_4.png").unlink()
        (out / "labels" / "sub" / "look_3.png").unlink()
        assert main(args) == 3
        assert server.requests == 14
    records = read_records(out / "results.jsonl")
    assert sum(r["status"] == "ok" for r in records.values()) == 12
    assert len((out / "results.jsonl").read_text().splitlines()) == 13 + 2


def test_remote_actors_share_one_rate_limit(photos: Path, tmp_path: Path) -> None:
    # The server allows 3 requests a second (2 at once); --rpm 170 is just under it. Each of
    # the 3 actors gets a third of it: had each taken the whole limit, the pool would ask for
    # three times the server's pace and get 429s.
    with FakeInferenceServer(requests_per_second=3, burst=3) as server:
        code = main(["segment", str(photos), "--out", str(tmp_path / "out"),
                     "--endpoint-url", server.url, "--ray", "--ray-actors", "3",
                     "--rpm", "170", "--concurrency", "3", "--batch-size", "1",
                     "--quiet"])  # fmt: skip
        assert code == 3
        assert server.requests == 12
        assert server.statuses[429] == 0
        assert server.max_in_flight <= 3


class Registry:
    """Holds a handle on every actor of the pool that built its backend."""

    def __init__(self) -> None:
        self.handles: list[Any] = []

    def add(self, handle: Any) -> None:
        self.handles.append(handle)

    def all(self) -> list[Any]:
        return self.handles


class Registering:
    """A backend recipe that tells the registry which actor built it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self) -> Any:
        import ray

        registry = ray.get_actor("segformer-test-registry")
        ray.get(registry.add.remote(ray.get_runtime_context().current_actor))
        return self.inner()


def test_an_actor_killed_mid_run_loses_no_photo_and_doubles_none(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from segformer_clothes.cli import _segment

    registry = ray.remote(Registry).options(name="segformer-test-registry").remote()
    original = _segment._recipe
    monkeypatch.setattr(_segment, "_recipe", lambda *a: Registering(original(*a)))
    out = tmp_path / "out"
    codes: list[int] = []
    with FakeInferenceServer(latency=0.4) as server:
        args = ["segment", str(photos), "--out", str(out), "--endpoint-url", server.url,
                "--ray", "--ray-actors", "2", "--batch-size", "1", "--quiet"]  # fmt: skip
        job = threading.Thread(target=lambda: codes.append(main(args)))
        job.start()
        deadline = time.monotonic() + 120
        while server.requests < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        handles = ray.get(registry.all.remote())
        ray.kill(handles[0], no_restart=False)  # Ray restarts it and retries its batch
        job.join(timeout=180)
    assert codes == [3]
    assert len(ray.get(registry.all.remote())) > len(handles)  # the killed actor came back
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in lines) == sorted({r["name"] for r in lines})  # once each
    assert len(lines) == 13
    assert sum(r["status"] == "ok" for r in lines) == 12
    ray.kill(registry)


def test_weights_missing_on_the_actors_is_a_usage_error(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["segment", str(photos), "--out", str(tmp_path / "out"), "--ray", "--local",
                 "--model", str(tmp_path / "no-weights"), "--offline", "--quiet"])  # fmt: skip
    assert code == 2
    error = capsys.readouterr().err
    assert "no-weights" in error
    assert "Ray" not in error  # the library's message, not Ray's wrapping


def test_paths_from_text_csv_and_parquet_lists_with_file_uris(photos: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    chosen = sorted(photos.glob("look_*.png"))[:4]
    text = tmp_path / "photos.txt"
    text.write_text(f"file://{chosen[0]}\n# a comment\n\n{os.path.relpath(chosen[1], tmp_path)}\n")
    table = tmp_path / "photos.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "image"])
        writer.writerow(["a-1", str(chosen[2])])
    parquet = tmp_path / "photos.parquet"
    pq.write_table(pa.table({"image": [f"file://{chosen[3]}"]}), parquet)
    lists = ["--paths-from", str(text), "--paths-from", str(table), "--paths-from", str(parquet)]
    with FakeInferenceServer() as server:
        code = main(["segment", *lists, "--path-column", "image", "--out", str(tmp_path / "out"),
                     "--endpoint-url", server.url, "--ray", "--quiet"])  # fmt: skip
        assert code == 0
        assert server.requests == 4
    records = read_records(tmp_path / "out" / "results.jsonl")
    assert sorted(records) == sorted(p.stem for p in chosen)
    assert {r["input"] for r in records.values()} == {str(p) for p in chosen}


def test_a_table_without_the_column_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "photos.csv"
    table.write_text("sku,image\na-1,look.png\n")
    code = main(["segment", "--paths-from", str(table), "--out", str(tmp_path / "out"),
                 "--ray", "--quiet"])  # fmt: skip
    assert code == 2
    assert "has no column 'path'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
