"""The trend report of tables the library writes: label maps and drawn photos -> the garment
table (CSV, then Parquet) -> the report, the same from either file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garment_tables import TABLE_COLUMNS as HAND_WRITTEN_COLUMNS
from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.analysis import TABLE_COLUMNS, TableWriter, table_rows, trend_report
from segformer_clothes.analysis.table import write_parquet

pytestmark = pytest.mark.analysis

NAVY, BEIGE, RED = (31, 42, 68), (214, 195, 160), (200, 16, 46)


def drawn_look(name: str, top: tuple[int, int, int] | None, pants: tuple[int, int, int] | None):
    """A 60x90 photo of a drawn person, its label map and the colours it was painted in."""
    label_map = np.zeros((90, 60), np.uint8)
    photo = np.full((90, 60, 3), 235, np.uint8)
    label_map[5:20, 20:40] = CLOTHES_LABELS.id("Face")
    photo[5:20, 20:40] = (224, 172, 140)
    if top is not None:
        label_map[20:50, 10:50] = CLOTHES_LABELS.id("Upper-clothes")
        photo[20:50, 10:50] = top
    if pants is not None:
        label_map[50:85, 15:45] = CLOTHES_LABELS.id("Pants")
        photo[50:85, 15:45] = pants
    return SegmentationResult(label_map, image=Image.fromarray(photo), source=f"{name}.jpg")


@pytest.fixture
def table(tmp_path: Path) -> Path:
    looks = {
        "look_1": (NAVY, BEIGE),
        "look_2": (RED, BEIGE),
        "look_3": (NAVY, None),
        "look_4": (None, None),  # a person with no garment
    }
    path = tmp_path / "out" / "garments.csv"
    with TableWriter(path) as writer:
        for name, (top, pants) in looks.items():
            writer.write(name, table_rows(drawn_look(name, top, pants)))
    return path


def test_the_hand_written_test_tables_have_the_library_s_columns() -> None:
    assert HAND_WRITTEN_COLUMNS == TABLE_COLUMNS


def test_the_report_of_a_table_the_library_wrote(table: Path) -> None:
    report = trend_report(table)
    assert report.photos == 4
    assert report.frequency == {"Upper-clothes": 0.75, "Pants": 0.5}
    assert report.co_occurrence["Upper-clothes"]["Pants"] == 2
    assert report.colours["Upper-clothes"] == pytest.approx({"navy": 2 / 3, "red": 1 / 3})
    assert report.colours["Pants"] == {"beige": 1.0}
    person = 15 * 20 + 30 * 40  # face + top, in look_3
    assert report.person_share["Upper-clothes"].values[2] == round(30 * 40 / person, 6)
    assert report.photo_share["Pants"].values == (round(30 * 35 / 5400, 6),) * 2  # 6 decimals


def test_parquet_and_csv_give_the_same_report(table: Path) -> None:
    parquet = table.with_suffix(".parquet")
    write_parquet(table, parquet)
    from_csv, from_parquet = trend_report(table), trend_report(parquet)
    assert from_parquet.source == str(parquet)
    for field in ("photos", "photos_with", "co_occurrence", "colours", "swatches", "flags"):
        assert getattr(from_parquet, field) == getattr(from_csv, field)
    for label in from_csv.garments:
        assert from_parquet.photo_share[label] == from_csv.photo_share[label]


def test_a_parquet_table_split_by_a_column_a_user_added(table: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_parquet(table, table.with_suffix(".parquet"))
    rows = pq.read_table(table.with_suffix(".parquet"))
    season = [
        "spring" if name in {"look_1", "look_2"} else None for name in rows["name"].to_pylist()
    ]
    pq.write_table(rows.append_column("season", pa.array(season)), tmp_path / "seasons.parquet")
    report = trend_report(tmp_path / "seasons.parquet", by="season")
    assert list(report.groups) == ["spring", "(blank)"]
    assert report.groups["spring"].frequency == {"Pants": 1.0, "Upper-clothes": 1.0}
    assert report.groups["(blank)"].frequency == {"Upper-clothes": 0.5}


def test_a_file_that_is_not_parquet_says_so(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"t.parquet is not a readable Parquet file"):
        trend_report(tmp_path / "t.parquet")
