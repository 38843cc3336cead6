from __future__ import annotations

import json
from pathlib import Path

import pytest

from segformer_clothes.catalogue import (
    RecordLog,
    check_inputs,
    check_unique_names,
    find_photos,
    read_records,
    write_atomically,
)
from segformer_clothes.errors import DuplicateNameError


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


def test_a_name_depends_only_on_its_own_input(tmp_path: Path, monkeypatch) -> None:
    touch(tmp_path / "shop1" / "look.jpg")
    touch(tmp_path / "shop1" / "sub" / "coat.png")
    touch(tmp_path / "extra.jpg")
    alone = names([str(tmp_path / "shop1")])
    assert alone == ["look", "sub/coat"]
    # Given with something else, or spelled another way, the folder's photos keep their names.
    assert names([str(tmp_path / "shop1"), str(tmp_path / "extra.jpg")]) == [*alone, "extra"]
    monkeypatch.chdir(tmp_path)
    assert names(["shop1"]) == names(["./shop1/"]) == names([str(tmp_path / "shop1")]) == alone


@pytest.mark.parametrize(
    ("files", "inputs"),
    [
        (["a/look.jpg", "b/look.jpg"], ["a/look.jpg", "b/look.jpg"]),
        (["x/photos/look.jpg", "y/photos/look.jpg"], ["x/photos", "y/photos"]),
        (["shop1/look.jpg", "shop2/look.jpg"], ["shop1", "shop2"]),
        (["g/look.jpg", "g/look.png"], ["g/*.jpg", "g/*.png"]),
    ],
)
def test_two_photos_that_would_share_a_name_are_refused(
    tmp_path: Path, monkeypatch, files: list[str], inputs: list[str]
) -> None:
    for file in files:
        touch(tmp_path / file)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DuplicateNameError) as refused:
        check_unique_names(find_photos(inputs))
    message = str(refused.value)
    assert files[0] in message
    assert files[1] in message
    assert "different output folders" in message


def test_unique_names_are_counted(tmp_path: Path) -> None:
    touch(tmp_path / "look.jpg")
    touch(tmp_path / "look.png")  # one folder: told apart by their extensions
    assert check_unique_names(find_photos([str(tmp_path)])) == 2


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


def record(name: str, status: str, given: str | None = None) -> str:
    return json.dumps({"input": given or f"{name}.jpg", "name": name, "status": status}) + "\n"


def test_records_are_keyed_by_name_last_line_wins_torn_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(
        record("a", "failed", "/abs/photos/a.jpg")
        + "not json\n"
        + record("b", "ok")
        + record("a", "ok", "photos/a.jpg")  # the same photo, spelled another way
        + '{"input": "c.jpg", "name": "c", "sta',
        encoding="utf-8",
    )
    records = read_records(path)
    assert records["a"]["status"] == "ok"
    assert records["b"]["status"] == "ok"
    assert "c" not in records
    # Appending after a torn line starts a fresh line, so the new record is readable.
    log = RecordLog(path)
    log.write({"input": "c.jpg", "name": "c", "status": "ok"})
    log.close()
    assert read_records(path)["c"]["status"] == "ok"


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
