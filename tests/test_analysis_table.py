"""The garment table: its columns, its rows, the CSV that a redone photo never duplicates (in
one run, across runs, after a killed run), and Parquet."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.analysis.table import (
    COLUMN_TYPES,
    TABLE_COLUMNS,
    TableWriter,
    read_table,
    table_rows,
    write_parquet,
)

pytestmark = pytest.mark.analysis
ID = CLOTHES_LABELS.id

# The columns agreed with the trend report, in order.
AGREED = [
    "name",
    "input",
    "width",
    "height",
    "label",
    "pixels",
    "photo_share",
    "person_share",
    "left",
    "top",
    "right",
    "bottom",
    "centroid_x",
    "centroid_y",
    "colour_1",
    "colour_1_name",
    "colour_1_share",
    "colour_2",
    "colour_2_name",
    "colour_2_share",
    "colour_3",
    "colour_3_name",
    "colour_3_share",
    "flags",
]


def look(seed: int = 0, *, shoes: bool = True) -> SegmentationResult:
    label_map = np.zeros((60, 40), dtype=np.uint8)
    label_map[10:40, 5:35] = ID("Upper-clothes")
    label_map[40:55, 8:32] = ID("Pants")
    if shoes:
        label_map[55:60, 8:18] = ID("Left-shoe")
        label_map[55:60, 22:32] = ID("Right-shoe")
    photo = np.random.default_rng(seed).integers(0, 255, (60, 40, 3), dtype=np.uint8)
    photo[10:40, 5:35] = (31, 42, 68)
    return SegmentationResult(label_map, image=Image.fromarray(photo), source=f"look_{seed}.jpg")


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as lines:
        return list(csv.DictReader(lines))


def test_the_columns_are_the_agreed_ones() -> None:
    assert list(TABLE_COLUMNS) == AGREED
    assert set(COLUMN_TYPES.values()) == {str, int, float}
    assert COLUMN_TYPES["pixels"] is int
    assert COLUMN_TYPES["colour_2_share"] is float


def test_rows_of_a_result() -> None:
    rows = table_rows(look(), name="look", input="photos/look.jpg")
    assert [row["label"] for row in rows] == ["Upper-clothes", "Pants", "shoes"]
    shirt = rows[0]
    assert list(shirt) == AGREED
    assert (shirt["name"], shirt["input"], shirt["width"], shirt["height"]) == (
        "look", "photos/look.jpg", 40, 60,
    )  # fmt: skip
    assert shirt["pixels"] == 900
    assert shirt["photo_share"] == pytest.approx(900 / 2400)
    assert shirt["person_share"] == pytest.approx(900 / (900 + 360 + 100))
    assert (shirt["left"], shirt["top"], shirt["right"], shirt["bottom"]) == (5, 10, 35, 40)
    assert (shirt["centroid_x"], shirt["centroid_y"]) == pytest.approx((19.5, 24.5))
    assert (shirt["colour_1"], shirt["colour_1_name"]) == ("#1f2a44", "navy")
    assert shirt["colour_1_share"] == 1.0
    assert shirt["colour_2"] is None
    assert shirt["flags"] is None
    assert rows[2]["flags"] == "small_garment"  # 100 shoe pixels
    separate = table_rows(look(), merge_shoes=False)
    labels = [row["label"] for row in separate]
    assert labels == ["Upper-clothes", "Pants", "Left-shoe", "Right-shoe"]
    assert separate[0]["name"] == "look_0"  # from the source
    assert separate[0]["input"] == "look_0.jpg"


def test_a_photo_without_garments_has_one_row_with_its_flags() -> None:
    empty = SegmentationResult(np.zeros((10, 10), dtype=np.uint8), image=Image.new("RGB", (10, 10)))
    (row,) = table_rows(empty, name="empty", input="empty.jpg")
    assert row["label"] is None
    assert (row["pixels"], row["photo_share"], row["person_share"]) == (0, 0.0, 0.0)
    assert row["left"] is None
    assert row["colour_1"] is None
    assert row["flags"] == "no_person"
    label_map = np.zeros((100, 100), dtype=np.uint8)
    label_map[0:10, 0:10] = ID("Face")  # a person, 1% of the photo, and no garment
    (row,) = table_rows(SegmentationResult(label_map, image=Image.new("RGB", (100, 100))))
    assert (row["label"], row["flags"]) == (None, "small_person")


def test_the_csv_has_the_header_empty_cells_and_short_floats(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"
    with TableWriter(path) as table:
        table.write("a", table_rows(look(), name="a", input="a.jpg"))
    with path.open(encoding="utf-8") as lines:
        header = lines.readline().rstrip("\n")
        first = lines.readline().rstrip("\n").split(",")
    assert header == ",".join(AGREED)
    row = dict(zip(AGREED, first, strict=True))
    assert row["photo_share"] == "0.375"
    assert row["person_share"] == "0.661765"  # 900 / 1360, 6 decimals
    assert row["colour_2"] == ""
    assert row["flags"] == ""
    typed = list(read_table(path))
    assert typed[0]["pixels"] == 900
    assert typed[0]["person_share"] == 0.661765
    assert typed[0]["colour_2"] is None


def test_a_redone_photo_replaces_its_rows_within_a_run(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"
    with TableWriter(path) as table:
        table.write("a", table_rows(look(), name="a", input="a.jpg"))
        table.write("b", table_rows(look(1), name="b", input="b.jpg"))
        table.write("a", table_rows(look(shoes=False), name="a", input="a.jpg"))
        table.write("c", table_rows(look(2), name="c", input="c.jpg"))
        table.write("c", table_rows(look(2, shoes=False), name="c", input="c.jpg"))  # right after
    names = [(row["name"], row["label"]) for row in rows_of(path)]
    assert names == [
        ("b", "Upper-clothes"), ("b", "Pants"), ("b", "shoes"),
        ("a", "Upper-clothes"), ("a", "Pants"),
        ("c", "Upper-clothes"), ("c", "Pants"),
    ]  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name != "garments.csv"]  # no temporary left


def test_a_photo_redone_in_a_rerun_replaces_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"
    with TableWriter(path) as table:
        for name in "abc":
            table.write(name, table_rows(look(), name=name, input=f"{name}.jpg"))
    with TableWriter(path) as table:  # the rerun redoes b, adds d
        table.write("b", table_rows(look(shoes=False), name="b", input="b.jpg"))
        table.write("d", table_rows(look(), name="d", input="d.jpg"))
    counts: dict[str, int] = {}
    for row in rows_of(path):
        counts[row["name"]] = counts.get(row["name"], 0) + 1
    assert counts == {"a": 3, "c": 3, "b": 2, "d": 3}


def test_leftovers_of_a_killed_run_are_cleaned_when_the_table_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"
    with TableWriter(path) as table:
        table.write("a", table_rows(look(), name="a", input="a.jpg"))
        table.write("b", table_rows(look(), name="b", input="b.jpg"))
    # A run killed after it redid "a" (appended, never closed), in the middle of a row of "c".
    table = TableWriter(path)
    table.write("a", table_rows(look(shoes=False), name="a", input="a.jpg"))
    table._file.write("c,c.jpg,40,60,Upper-cl")
    table._file.flush()
    table._file.close()  # killed: close() never ran
    with TableWriter(path) as reopened:
        reopened.write("c", table_rows(look(), name="c", input="c.jpg"))
    labels = [(row["name"], row["label"]) for row in rows_of(path)]
    assert labels == [
        ("b", "Upper-clothes"), ("b", "Pants"), ("b", "shoes"),
        ("a", "Upper-clothes"), ("a", "Pants"),
        ("c", "Upper-clothes"), ("c", "Pants"), ("c", "shoes"),
    ]  # fmt: skip


def test_a_table_of_other_columns_is_not_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"
    path.write_text("name,label,season\nlook,Hat,winter\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a garment table of this version"):
        TableWriter(path)
    assert path.read_text(encoding="utf-8") == "name,label,season\nlook,Hat,winter\n"


def test_parquet_has_the_types_and_nulls_and_the_same_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "garments.csv"
    with TableWriter(path) as table:
        table.write("a", table_rows(look(), name="a", input="a.jpg"))
        empty = SegmentationResult(np.zeros((5, 5), np.uint8), image=Image.new("RGB", (5, 5)))
        table.write("empty", table_rows(empty, name="empty", input="empty.jpg"))
    parquet = tmp_path / "garments.parquet"
    assert write_parquet(path, parquet) == 4
    schema = pq.read_schema(parquet)
    assert schema.names == AGREED
    assert schema.field("pixels").type == pa.int64()
    assert schema.field("photo_share").type == pa.float64()
    assert schema.field("label").type == pa.string()
    from_parquet = list(read_table(parquet))
    assert from_parquet == list(read_table(path))
    assert from_parquet[-1]["label"] is None
    assert from_parquet[-1]["flags"] == "no_person"
    assert from_parquet[-1]["left"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garments.csv", "garments.parquet"]


def test_thousands_of_photos_and_a_rerun_that_redoes_a_few(tmp_path: Path) -> None:
    path = tmp_path / "garments.csv"

    def row(name: str, label: str) -> dict[str, object]:
        return {"name": name, "input": f"{name}.jpg", "width": 4, "height": 4, "label": label}

    names = [f"look_{i:05d}" for i in range(6000)]  # more than the index merges at once
    with TableWriter(path) as table:
        for name in names:
            table.write(name, [row(name, "Hat"), row(name, "Bag")])
        assert table.has("look_00000")
        assert table.has("look_05999")
        assert not table.has("look_06000")
    with TableWriter(path) as table:
        assert table.has("look_00001")
        for name in ("look_00000", "look_03000", "look_05999", "look_07000"):
            table.write(name, [row(name, "Pants")])
    rows = rows_of(path)
    assert len(rows) == 2 * 6000 - 3 * 2 + 4
    by_name: dict[str, list[str]] = {}
    for found in rows:
        by_name.setdefault(found["name"], []).append(found["label"])
    assert by_name["look_00000"] == by_name["look_03000"] == by_name["look_07000"] == ["Pants"]
    assert by_name["look_00001"] == ["Hat", "Bag"]
