"""`segformer-clothes report`, run as a process on tables the test writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from garment_tables import catalogue_rows, row, write_csv

pytestmark = pytest.mark.integration

CHARTS = {"frequency.png", "co_occurrence.png", "colours.png", "coverage.png"}


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "segformer_clothes.cli", "report", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "garments.csv", catalogue_rows())


def test_report_writes_the_page_the_markdown_and_the_charts(table: Path, tmp_path: Path) -> None:
    done = run_cli(table, "--out", "trends", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "5 photos; garments: Pants 60%, Upper-clothes 60%, Skirt 20%" in done.stdout
    out = tmp_path / "trends"
    assert {p.name for p in out.iterdir()} == {*CHARTS, "report.html", "report.md"}
    assert "| Pants | 3 | 60.0% |" in (out / "report.md").read_text(encoding="utf-8")


def test_report_by_a_column_of_an_output_folder(table: Path, tmp_path: Path) -> None:
    done = run_cli(
        table.parent, "--out", "trends", "--by", "season", "--format", "html", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "trends").iterdir()] == ["report.html"]
    page = (tmp_path / "trends" / "report.html").read_text(encoding="utf-8")
    assert "<h2>By season</h2>" in page
    assert page.count('<img src="data:image/png;base64,') == len(CHARTS) + 2


def test_markdown_only(table: Path, tmp_path: Path) -> None:
    done = run_cli(table, "--out", "trends", "--format", "md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in (tmp_path / "trends").iterdir()} == {*CHARTS, "report.md"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.csv", "--out", "r"], "the table missing.csv does not exist"),
        (["garments.csv", "--out", "r", "--by", "date"], "has no column 'date' to split"),
        (["garments.csv", "--out", "r", "--format", "pdf"], "--format must name html and/or md"),
        (["garments.csv", "--out", "r", "--format", ","], "--format must name html and/or md"),
        (["garments.csv", "--out", "garments.csv"], "--out garments.csv is a file"),
        (["notes.txt", "--out", "r"], "notes.txt is not a garment table: give a .csv"),
        (["broken.csv", "--out", "r"], "broken.csv, line 2: column photo_share holds 'big'"),
        (["garments.csv"], "the following arguments are required: --out"),
    ],
)
def test_usage_errors_exit_2_with_one_line_that_says_what_is_wrong(
    table: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    write_csv(tmp_path / "broken.csv", [{**row("a", "Hat"), "photo_share": "big"}])
    done = run_cli(*arguments, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "r").exists()


def test_a_report_that_cannot_be_written_exits_1(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "trends"
    out.mkdir()
    (out / "report.html").mkdir()  # a folder where the page must go
    done = run_cli(table, "--out", out, cwd=tmp_path)
    assert done.returncode == 1
    assert f"cannot write the report to {out}" in done.stderr


def test_report_is_listed_in_the_command_help(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "write the trend report of a garment table" in done.stdout


@pytest.mark.parametrize(
    ("missing", "table_name", "message"),
    [
        (
            "matplotlib",
            "garments.csv",
            'the charts need matplotlib: pip install "segformer-clothes',
        ),
        ("pyarrow", "garments.parquet", 'needs pyarrow, which is not installed: pip install "segf'),
    ],
)
def test_a_missing_extra_is_a_usage_error_naming_the_install_command(
    tmp_path: Path, missing: str, table_name: str, message: str
) -> None:
    blocked = tmp_path / "blocked"
    (blocked / missing).mkdir(parents=True)
    (blocked / missing / "__init__.py").write_text(f"raise ImportError('no {missing}')\n")
    write_csv(tmp_path / "garments.csv", catalogue_rows())
    (tmp_path / "garments.parquet").write_bytes(b"PAR1")
    command = [sys.executable, "-m", "segformer_clothes.cli", "report", table_name, "--out", "r"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(blocked)},
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "r").exists()
