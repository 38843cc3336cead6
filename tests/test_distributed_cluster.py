"""`segment --ray` as a process: alone it starts (and stops) its own local Ray; with
`--ray-address` it joins a cluster started by `ray start --head` on 127.0.0.1, which the
test ends by its process group."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.testing import FakeInferenceServer

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]

RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # Ray's single-machine mode: every Ray process listens on 127.0.0.1 only.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    # A small object store for a local Ray the command starts on this shared machine.
    "RAY_DEFAULT_OBJECT_STORE_MEMORY_PROPORTION": "0.02",
    # The cluster's token, given to the head and to the job that joins it.
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
}


def cli_env(mark: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "RAY_"))}
    env["HF_HOME"] = "/nonexistent-hf-home"
    env.update(RAY_ENV)
    # Every process started from here inherits the mark: Ray's included, whatever they are
    # called (an actor renames its process), so that the test finds each one.
    env["SEGFORMER_CLOTHES_TEST_MARK"] = mark
    return env


def run_cli(*args: str, cwd: Path, mark: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", "segment", *args],
        cwd=cwd, env=cli_env(mark), capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def processes_marked(mark: str) -> set[int]:
    """The processes whose environment carries ``mark`` (see `cli_env`)."""
    wanted = f"SEGFORMER_CLOTHES_TEST_MARK={mark}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environment:
            found.add(int(entry.name))
    return found


def wait_until_none_left(mark: str, seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        pixels = rng.integers(0, 255, size=(32, 24 + i, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"look_{i}.png")
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Ray cluster on 127.0.0.1, started by `ray start --head --block`."""
    port = free_port()
    mark = secrets.token_hex(8)
    temp = tmp_path_factory.mktemp("ray-cluster")
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=8", "--include-dashboard=false",
         "--object-store-memory=300000000", f"--temp-dir={temp}", "--disable-usage-stats"],
        env=cli_env(mark), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert head.poll() is None, "ray start ended early"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the Ray head did not start in 90 s"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and the Ray processes it started
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        for pid in processes_marked(mark):  # any Ray process that left the group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert not wait_until_none_left(mark, 30)


def records_of(out: Path) -> list[dict[str, object]]:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("seconds")
    return sorted(records, key=lambda r: str(r["name"]))


def test_a_job_joins_a_running_cluster_by_address(
    photos: Path, tmp_path: Path, cluster: str
) -> None:
    with FakeInferenceServer() as server:
        joined = run_cli(str(photos), "--out", "joined", "--endpoint-url", server.url,
                         "--ray-address", cluster, "--json", "-", cwd=tmp_path)  # fmt: skip
        assert joined.returncode == 0, joined.stderr
        assert server.requests == 6
        plain = run_cli(str(photos), "--out", "plain", "--endpoint-url", server.url, cwd=tmp_path)
        assert plain.returncode == 0, plain.stderr
    assert json.loads(joined.stdout)["done"] == 6
    assert records_of(tmp_path / "joined") == records_of(tmp_path / "plain")
    for label_map in (tmp_path / "plain" / "labels").iterdir():
        assert (tmp_path / "joined" / "labels" / label_map.name).read_bytes() == (
            label_map.read_bytes()
        )


def test_ray_alone_starts_a_local_ray_and_stops_it(photos: Path, tmp_path: Path) -> None:
    mark = secrets.token_hex(8)
    with FakeInferenceServer() as server:
        done = run_cli(str(photos), "--out", "out", "--endpoint-url", server.url, "--ray",
                       "--json", "-", cwd=tmp_path, mark=mark)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["done"] == 6
    left = wait_until_none_left(mark, 60)  # Ray's processes end soon after the command
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"Ray processes left running: {sorted(left)}"
