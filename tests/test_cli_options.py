"""`segformer-clothes segment` options: checked by the library's own settings, before any work,
and reported as one line in the command's terms; their defaults are the library's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import attrs
import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.backends.local import LocalSegmenter
from segformer_clothes.backends.remote.settings import ClientSettings
from segformer_clothes.evaluation import evaluate
from segformer_clothes.testing import FakeInferenceServer, pixel_labels

pytestmark = pytest.mark.integration

# Written out here, not read from the command: a setting added to ClientSettings without an
# option fails the defaults test below until it gets one.
CLIENT_OPTIONS = {
    "timeout": "--timeout",
    "max_retries": "--max-retries",
    "max_concurrency": "--concurrency",
    "requests_per_minute": "--rpm",
    "max_side": "--max-side",
    "max_server_wait": "--max-server-wait",
    "deadline": "--deadline",
    "max_connection_failures": "--max-connection-failures",
    "max_answer_bytes": "--max-answer-bytes",
}
LOCAL_OPTIONS = {"device": "--device", "batch_size": "--batch-size", "dtype": "--dtype"}
PREFIX = "segformer-clothes segment: error: "


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env["HF_HOME"] = "/nonexistent-hf-home"
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def draw_photo(path: Path, seed: int, size: tuple[int, int] = (40, 56)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 200, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def assert_usage_error(done: subprocess.CompletedProcess[str], line: str, out: Path) -> None:
    """Exit 2, exactly one line on stderr (no traceback, no usage block), no output folder."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [PREFIX + line]
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--max-retries", "-1"], "--max-retries must be a whole number, 0 or more, got -1"),
        (["--concurrency", "0"], "--concurrency must be a whole number, 1 or more, got 0"),
        (["--timeout", "0"], "--timeout must be a positive number of seconds, got 0"),
        (["--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
        (["--timeout", "inf"], "--timeout must be a positive number of seconds, got inf"),
        (
            ["--rpm", "-5"],
            "--rpm must be a positive number of requests per minute, got -5; "
            "leave --rpm out to learn the limit from 429 answers",
        ),
        (
            ["--max-side", "0"],
            "--max-side must be a whole number of pixels, 1 or more, got 0; "
            "leave --max-side out to send photos at their own size",
        ),
        (["--deadline", "0"], "--deadline must be a positive number of seconds, got 0"),
        (
            ["--max-server-wait", "-1"],
            "--max-server-wait must be a number of seconds, 0 or more, got -1",
        ),
        (
            ["--max-connection-failures", "0"],
            "--max-connection-failures must be a whole number of failures, 1 or more, got 0; "
            "leave --max-connection-failures out to stop after 20 in a row",
        ),
        (
            ["--max-answer-bytes", "0"],
            "--max-answer-bytes must be a whole number, 1 or more, got 0",
        ),
        (["--endpoint-url", "ftp://shop"], "--endpoint-url must be an http(s) URL, got ftp://shop"),
        # batch_size is checked before torch is imported: this needs no `local` extra.
        (["--local", "--batch-size", "0"], "--batch-size must be a whole number, 1 or more, got 0"),
    ],
)
def test_a_bad_value_is_one_line_in_the_commands_terms(
    tmp_path: Path, options: list[str], line: str
) -> None:
    draw_photo(tmp_path / "look.png", seed=1)
    out = tmp_path / "out"
    done = run_cli("segment", "look.png", "--out", str(out), *options, cwd=tmp_path)
    assert_usage_error(done, line, out)


def test_options_are_checked_before_the_inputs(tmp_path: Path) -> None:
    # A bad option is reported even when the inputs are missing too: nothing is looked at.
    out = tmp_path / "out"
    done = run_cli("segment", "missing/", "--out", str(out), "--concurrency", "0", cwd=tmp_path)
    assert_usage_error(done, "--concurrency must be a whole number, 1 or more, got 0", out)


def test_a_value_that_is_not_a_number_is_argparses_error(tmp_path: Path) -> None:
    done = run_cli("segment", "look.png", "--out", "out", "--max-retries", "many", cwd=tmp_path)
    assert done.returncode == 2
    assert "argument --max-retries: invalid int value: 'many'" in done.stderr
    assert not (tmp_path / "out").exists()


def help_of_each_option(text: str) -> dict[str, str]:
    """The help text of each option of an argparse help page, on one line, by option name."""
    helps: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        found = re.match(r"^  (--[\w-]+)", line)
        if found:
            current = found.group(1)
            helps[current] = line.strip()
        elif current is not None and line.startswith("    "):
            helps[current] += " " + line.strip()
        else:
            current = None
    return helps


def shown_default(helps: dict[str, str], option: str) -> str | None:
    found = re.search(r"\(default ([^;)]+)", helps[option])
    return None if found is None else found.group(1)


def test_the_defaults_in_help_are_the_librarys(tmp_path: Path) -> None:
    done = run_cli("segment", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    helps = help_of_each_option(done.stdout)
    for field in attrs.fields(ClientSettings):
        option = CLIENT_OPTIONS[field.name]
        if field.default is None:
            assert shown_default(helps, option) is None, helps[option]
            assert "(left out: " in helps[option]
        else:
            assert shown_default(helps, option) == str(field.default), helps[option]
    for name, option in LOCAL_OPTIONS.items():
        assert shown_default(helps, option) == str(LocalSegmenter.__init__.__kwdefaults__[name])


def test_the_evaluate_defaults_in_help_are_the_librarys(tmp_path: Path) -> None:
    done = run_cli("evaluate", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    helps = help_of_each_option(done.stdout)
    assert evaluate.__kwdefaults__ is not None
    assert shown_default(helps, "--ignore-index") == str(evaluate.__kwdefaults__["ignore_index"])


def test_good_values_reach_the_client(tmp_path: Path) -> None:
    sizes_seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def answer(image: Image.Image) -> np.ndarray:
        with lock:
            sizes_seen.append(image.size)
        return pixel_labels(image)

    for i in range(4):
        draw_photo(tmp_path / "photos" / f"look_{i}.png", seed=i, size=(40, 56))
    # The first request fails with a 500: with --max-retries 0 its photo is not retried.
    with FakeInferenceServer(answer, latency=0.05, faults=["500"]) as server:
        done = run_cli(
            "segment", "photos", "--out", "out", "--endpoint-url", server.url,
            "--concurrency", "1", "--max-retries", "0", "--max-side", "20", "--rpm", "60000",
            "--timeout", "30", "--json", "-", "--quiet",
            cwd=tmp_path,
        )  # fmt: skip
        assert server.max_in_flight == 1
        assert server.requests == 4
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["done"], summary["failed"]) == (3, 1)
    assert len(sizes_seen) == 3  # the request that failed never reached the model
    assert all(max(size) <= 20 for size in sizes_seen)
    label_maps = sorted((tmp_path / "out" / "labels").glob("*.png"))
    assert len(label_maps) == 3
    for label_map in label_maps:
        assert SegmentationResult.load(label_map).size == (40, 56)  # back at the photo's size
