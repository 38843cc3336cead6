from __future__ import annotations

import json
from pathlib import Path

import pytest

from segformer_clothes.catalogue import (
    RecordLog,
    check_inputs,
    find_photos,
    read_records,
    write_atomically,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def names(inputs: list[str]) -> list[str]:
    return [photo.name for photo in find_photos(inputs)]


def test_a_folder_is_walked_recursively_in_a_stable_order(tmp_path: Path) -> None:
    for rel in ["b.jpg", "a.png", "sub/c.webp", "sub/deeper/d.JPEG", "notes.txt", "sub/e.gif"]:
        touch(tmp_path / rel)
    assert names([str(tmp_path)]) == ["a", "b", "sub/c", "sub/e", "sub/deeper/d"]


def test_same_stem_in_one_folder_keeps_the_extension(tmp_path: Path) -> None:
    touch(tmp_path / "look.jpg")
    touch(tmp_path / "look.png")
    touch(tmp_path / "other.jpg")
    assert names([str(tmp_path)]) == ["look.jpg", "look.png", "other"]


def test_two_folders_with_the_same_file_names(tmp_path: Path) -> None:
    touch(tmp_path / "shop1" / "look.jpg")
    touch(tmp_path / "shop2" / "look.jpg")
    inputs = [str(tmp_path / "shop1"), str(tmp_path / "shop2")]
    assert names(inputs) == ["shop1/look", "shop2/look"]
    assert names(inputs) == names(inputs)  # the same on every rerun


def test_files_and_glob_patterns(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "x.jpg")
    touch(tmp_path / "a" / "y.png")
    touch(tmp_path / "a" / "deep" / "z.jpg")
    assert names([str(tmp_path / "a" / "x.jpg")]) == ["x"]
    assert names([str(tmp_path / "a" / "*.jpg")]) == ["x"]
    assert names([str(tmp_path / "a" / "**" / "*.jpg")]) == ["x", "deep/z"]


def test_inputs_that_name_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_inputs([str(tmp_path / "missing")])
    with pytest.raises(FileNotFoundError, match="no file matches"):
        check_inputs([str(tmp_path / "*.jpg")])
    touch(tmp_path / "x.jpg")
    check_inputs([str(tmp_path), str(tmp_path / "*.jpg")])


def test_records_last_line_wins_and_torn_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(
        json.dumps({"input": "a.jpg", "status": "failed"})
        + "\n"
        + "not json\n"
        + json.dumps({"input": "b.jpg", "status": "ok"})
        + "\n"
        + json.dumps({"input": "a.jpg", "status": "ok"})
        + "\n"
        + '{"input": "c.jpg", "sta',
        encoding="utf-8",
    )
    records = read_records(path)
    assert records["a.jpg"]["status"] == "ok"
    assert records["b.jpg"]["status"] == "ok"
    assert "c.jpg" not in records
    # Appending after a torn line starts a fresh line, so the new record is readable.
    log = RecordLog(path)
    log.write({"input": "c.jpg", "status": "ok"})
    log.close()
    assert read_records(path)["c.jpg"]["status"] == "ok"


def test_write_atomically_leaves_no_torn_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "out.png"

    def fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    write_atomically(target, lambda path: path.write_bytes(b"whole"))
    assert target.read_bytes() == b"whole"
