"""`segformer-clothes segment`, run as a process against FakeInferenceServer on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.backends.remote.auth import find_token
from segformer_clothes.cli import main
from segformer_clothes.testing import FakeInferenceServer, pixel_labels

pytestmark = pytest.mark.integration


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", *args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env["HF_HOME"] = "/nonexistent-hf-home"  # no token file either
    env.update(extra)
    return env


def draw_photo(path: Path, seed: int, size: tuple[int, int] = (40, 56)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 200, size=(size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for i in range(4):
        draw_photo(folder / f"look_{i}.png", seed=i)
    draw_photo(folder / "street" / "look_0.jpg", seed=10, size=(48, 32))
    (folder / "broken.jpg").write_bytes(b"this is not a JPEG")
    (folder / "notes.txt").write_text("not a photo")
    return folder


@pytest.fixture
def server() -> Iterator[FakeInferenceServer]:
    with FakeInferenceServer() as running:
        yield running


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_segment_a_folder_with_overlays_and_crops(
    photos: Path, server: FakeInferenceServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = run_cli(
        "segment", str(photos), "--out", str(out), "--overlay", "--crops",
        "--endpoint-url", server.url, "--json", "-",
        cwd=tmp_path,
    )  # fmt: skip
    # broken.jpg can never succeed (exit 3: no failure a rerun could fix), the rest went through.
    assert done.returncode == 3, done.stderr
    summary = json.loads(done.stdout)
    assert summary["done"] == 5
    assert summary["failed"] == 0
    assert summary["invalid"] == 1
    assert summary["skipped"] == 0
    assert "invalid 1" in done.stderr
    assert "broken.jpg: not an image" in done.stderr  # the failed photo is named
    assert server.requests == 5  # the broken file never reached the server

    for name, photo in [
        *((f"look_{i}", photos / f"look_{i}.png") for i in range(4)),
        ("street/look_0", photos / "street" / "look_0.jpg"),
    ]:
        result = SegmentationResult.load(out / "labels" / f"{name}.png")
        with Image.open(photo) as picture:
            assert np.array_equal(result.label_map, pixel_labels(picture)), name
            size = picture.size
        with Image.open(out / "overlays" / f"{name}.jpg") as overlay:
            assert overlay.size == size
        crops = sorted(p.name for p in (out / "crops" / name).iterdir())
        assert crops == ["Left-shoe.png", "Pants.png", "Right-shoe.png", "Upper-clothes.png"]
        with Image.open(out / "crops" / name / "Pants.png") as cutout:
            assert cutout.mode == "RGBA"

    records = {r["input"]: r for r in read_jsonl(out / "results.jsonl")}
    assert len(records) == 6
    broken = records[str(photos / "broken.jpg")]
    assert broken["status"] == "invalid"
    assert broken["error_type"] == "InvalidImageError"
    ok = records[str(photos / "look_1.png")]
    assert ok["status"] == "ok"
    assert (ok["width"], ok["height"]) == (40, 56)
    assert "Upper-clothes" in ok["labels"]
    assert sum(ok["coverage"].values()) == pytest.approx(1.0, abs=1e-4)
    assert ok["seconds"] >= 0


def test_rerun_skips_what_is_done_and_retries_failures(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # The first two requests fail and, with retries off, those photos fail this run.
    with FakeInferenceServer(faults=["500", "500"]) as server:
        first = run_cli(
            "segment", str(photos), "--out", str(out), "--endpoint-url", server.url,
            "--max-retries", "0", "--concurrency", "1",
            cwd=tmp_path,
        )  # fmt: skip
        assert first.returncode == 1
        records = read_jsonl(out / "results.jsonl")
        failed = [r for r in records if r["status"] == "failed"]
        assert {r["error_type"] for r in failed} == {"ServerError"}
        assert len(failed) == 2
        assert [r["name"] for r in records if r["status"] == "invalid"] == ["broken"]
        server.reset()
        second = run_cli(
            "segment", str(photos), "--out", str(out), "--endpoint-url", server.url,
            "--json", str(tmp_path / "summary.json"),
            cwd=tmp_path,
        )  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    # broken.jpg can never succeed and is not tried again: exit 3, so "rerun while 1" ends.
    assert second.returncode == 3
    assert summary == {**summary, "done": 2, "skipped": 3, "failed": 0, "invalid": 1}
    assert server.requests == 2  # only the two server failures were sent again
    with FakeInferenceServer() as server:
        third = run_cli(
            "segment", str(photos), "--out", str(out), "--endpoint-url", server.url,
            "--no-resume", "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
        assert third.returncode == 3
        assert server.requests == 5  # --no-resume redoes everything


def test_killed_run_resumes_without_redoing_finished_photos(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(12):
        draw_photo(photos / f"p{i:02d}.png", seed=i)
    out = tmp_path / "out"
    results = out / "results.jsonl"
    with FakeInferenceServer(latency=0.15) as server:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos),
                "--out", str(out), "--endpoint-url", server.url, "--concurrency", "2",
                "--overlay",
            ],
            cwd=tmp_path, env=clean_env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and len(results.read_text().splitlines()) >= 4:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        finished = {
            r["input"] for r in read_jsonl(results) if r.get("status") == "ok"
        }  # a torn last line would fail json.loads: the kill left none or read_jsonl tolerates
        assert 4 <= len(finished) < 12
        server.reset()
        rerun = run_cli(
            "segment", str(photos), "--out", str(out), "--endpoint-url", server.url, "--overlay",
            cwd=tmp_path,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr
        assert server.requests == 12 - len(finished)
    for i in range(12):
        result = SegmentationResult.load(out / "labels" / f"p{i:02d}.png")
        assert result.size == (40, 56)
        with Image.open(out / "overlays" / f"p{i:02d}.jpg") as overlay:
            overlay.load()
    visible = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(visible) == 12 + 12 + 1


def test_same_file_names_in_two_folders_are_refused_up_front(
    tmp_path: Path, server: FakeInferenceServer
) -> None:
    # Both would be written as "look": refused before any work, naming both and what to do.
    draw_photo(tmp_path / "shop1" / "look.png", seed=1)
    draw_photo(tmp_path / "shop2" / "look.png", seed=2, size=(30, 30))
    done = run_cli(
        "segment", "shop1", "shop2", "--out", "out", "--endpoint-url", server.url,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "shop1/look.png and shop2/look.png would both be written as 'look'" in done.stderr
    assert "common parent folder" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
    assert server.requests == 0
    # Their common parent keeps each photo's own path.
    done = run_cli(
        "segment", ".", "--out", "out", "--endpoint-url", server.url, cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SegmentationResult.load(tmp_path / "out/labels/shop1/look.png").size == (40, 56)
    assert SegmentationResult.load(tmp_path / "out/labels/shop2/look.png").size == (30, 30)


def test_resume_does_not_depend_on_how_the_folder_is_spelled(
    photos: Path, tmp_path: Path, server: FakeInferenceServer
) -> None:
    relative = os.path.relpath(photos, tmp_path)
    first = run_cli(
        "segment", relative, "--out", "out", "--endpoint-url", server.url, cwd=tmp_path
    )  # fmt: skip
    assert first.returncode == 3, first.stderr  # broken.jpg can never succeed
    server.reset()
    again = run_cli(
        "segment", str(photos.resolve()) + "/", "--out", "out", "--endpoint-url", server.url,
        "--json", "-", cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 3, again.stderr
    assert json.loads(again.stdout)["skipped"] == 5
    assert server.requests == 0


def test_invalid_photos_are_retried_only_when_asked(
    photos: Path, tmp_path: Path, server: FakeInferenceServer
) -> None:
    run_cli("segment", str(photos), "--out", "out", "--endpoint-url", server.url, cwd=tmp_path)
    draw_photo(photos / "broken.jpg", seed=9)  # the user fixes the file
    kept = run_cli(
        "segment", str(photos), "--out", "out", "--endpoint-url", server.url, cwd=tmp_path
    )  # fmt: skip
    assert kept.returncode == 3
    retried = run_cli(
        "segment", str(photos), "--out", "out", "--endpoint-url", server.url,
        "--retry-invalid", cwd=tmp_path,
    )  # fmt: skip
    assert retried.returncode == 0, retried.stderr
    assert (tmp_path / "out/labels/broken.png").exists()


def test_a_second_run_on_the_same_folder_exits_4(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeInferenceServer(latency=1.0) as slow:
        first = subprocess.Popen(
            [sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos), "--out",
             str(out), "--endpoint-url", slow.url, "--concurrency", "1"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while slow.requests == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            second = run_cli(
                "segment", str(photos), "--out", str(out), "--endpoint-url", slow.url,
                cwd=tmp_path,
            )  # fmt: skip
        finally:
            first.terminate()
            first.communicate(timeout=30)
    assert second.returncode == 4, second.stderr
    assert str(out / ".segformer-clothes.lock") in second.stderr
    assert "Traceback" not in second.stderr


def test_a_fatal_error_before_any_photo_leaves_nothing_behind(photos: Path, tmp_path: Path) -> None:
    with FakeInferenceServer(token="right") as guarded:
        done = run_cli(
            "segment", str(photos), "--out", "out", "--endpoint-url", guarded.url,
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "out").exists()


def test_token_from_a_dotenv_file(
    tmp_path: Path, server: FakeInferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Hugging Face API is unreachable here, so this runs in-process: the .env file of the
    # working folder must become the token the client finds for Hugging Face hosts.
    draw_photo(tmp_path / "look.png", seed=3)
    (tmp_path / ".env").write_text("HF_API_TOKEN=hf_from_dotenv\n")
    for name in ("HF_TOKEN", "HF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-hf-home"))
    monkeypatch.chdir(tmp_path)
    code = main(["segment", "look.png", "--out", "out", "--endpoint-url", server.url, "--quiet"])
    assert code == 0
    assert find_token() == "hf_from_dotenv"
    # ... and, found in a file rather than given, it is not sent to a third-party server...
    assert "authorization" not in server.headers_seen[-1]
    # ... unless the user says so, for a protected endpoint of their own.
    code = main(["segment", "look.png", "--out", "out2", "--endpoint-url", server.url,
                 "--send-token", "--quiet"])  # fmt: skip
    assert code == 0
    assert server.headers_seen[-1]["authorization"] == "Bearer hf_from_dotenv"


def test_missing_token_says_how_to_fix_it(tmp_path: Path) -> None:
    draw_photo(tmp_path / "look.png", seed=3)
    done = run_cli("segment", "look.png", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert "HF_TOKEN" in done.stderr
    assert ".env" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "missing-folder", "--out", "out"], "does not exist"),
        (["segment", "*.nothing", "--out", "out"], "no file matches"),
        (["segment", "look.png"], "--out"),
        (["segment", "look.png", "--out", "o", "--concurrency", "0"], "--concurrency must be"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    draw_photo(tmp_path / "look.png", seed=3)
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


def test_segment_then_evaluate_the_labels_folder(
    photos: Path, server: FakeInferenceServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_cli("segment", str(photos), "--out", str(out), "--endpoint-url", server.url, cwd=tmp_path)
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    for i in range(4):
        with Image.open(photos / f"look_{i}.png") as picture:
            Image.fromarray(pixel_labels(picture)).save(annotations / f"mask_{i}.png")
    (out / "labels" / "street").rename(tmp_path / "street-labels")  # top level only
    report = run_cli("evaluate", str(out / "labels"), str(annotations), "--json", "-", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    scores = json.loads(report.stdout)
    assert scores["pixel_accuracy"] == pytest.approx(1.0)
    assert scores["mean_iou"] == pytest.approx(1.0)
    assert len(scores["per_image"]) == 4


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for i in range(10):
        draw_photo(photos / f"p{i}.png", seed=i)
    out = tmp_path / "out"
    with FakeInferenceServer(latency=0.2) as server:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos),
                "--out", str(out), "--endpoint-url", server.url, "--concurrency", "1",
            ],
            cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        results = out / "results.jsonl"
        while time.monotonic() < deadline and not (
            results.exists() and results.read_text().count("\n") >= 2
        ):
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert 2 <= len(read_jsonl(results)) < 10


def test_local_without_the_extra_gives_the_install_command(tmp_path: Path) -> None:
    draw_photo(tmp_path / "look.png", seed=3)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    # A module named torch that fails to import stands for a machine without the extra.
    (blocker / "torch.py").write_text("raise ImportError('No module named torch')\n")
    env = clean_env(PYTHONPATH=str(blocker))
    done = run_cli("segment", "look.png", "--out", "out", "--local", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert 'pip install "segformer-clothes[local]"' in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()  # found out before any work


def test_overlay_style_options(photos: Path, tmp_path: Path, server: FakeInferenceServer) -> None:
    done = run_cli(
        "segment", str(photos / "look_1.png"), "--out", "out", "--endpoint-url", server.url,
        "--overlay", "--alpha", "0", "--legend", "--outline", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with (
        Image.open(photos / "look_1.png") as photo,
        Image.open(tmp_path / "out/overlays/look_1.jpg") as overlay,
    ):
        assert overlay.width > photo.width  # the legend
        assert overlay.height >= photo.height  # a legend of many labels may be taller
    bad = run_cli(
        "segment", str(photos), "--out", "out2", "--endpoint-url", server.url,
        "--overlay", "--alpha", "2", cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--alpha must be between 0 and 1, got 2" in bad.stderr
    assert not (tmp_path / "out2").exists()
