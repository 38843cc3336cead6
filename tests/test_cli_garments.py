"""`segment --table`, `garments OUT/` and `export --coco OUT/ FILE`, against FakeInferenceServer
on 127.0.0.1: the table as photos finish, never duplicated by a rerun, rebuilt from the label
maps, and the COCO file that pycocotools loads back."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.cli import main
from segformer_clothes.testing import FakeInferenceServer

pytestmark = [pytest.mark.analysis, pytest.mark.integration]


@pytest.fixture
def server() -> Iterator[FakeInferenceServer]:
    with FakeInferenceServer() as running:
        yield running


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        pixels = np.random.default_rng(i).integers(0, 200, (56, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"look_{i}.png")
    return folder


def segment(photos: Path, out: Path, server: FakeInferenceServer, *extra: str) -> int:
    return main(["segment", str(photos), "--out", str(out), "--endpoint-url", server.url, *extra])


def table_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_segment_writes_the_table_and_parquet(
    photos: Path, tmp_path: Path, server: FakeInferenceServer
) -> None:
    from segformer_clothes.analysis.table import read_table, table_rows

    out = tmp_path / "out"
    assert segment(photos, out, server, "--quiet", "--table", "parquet") == 0
    rows = list(read_table(out / "garments.csv"))
    assert Counter(row["name"] for row in rows) == {f"look_{i}": 3 for i in range(4)}
    for i in range(4):
        result = SegmentationResult.load(out / "labels" / f"look_{i}.png")
        photo = photos / f"look_{i}.png"
        expected = table_rows(result, name=f"look_{i}", input=str(photo), image=photo)
        got = [row for row in rows if row["name"] == f"look_{i}"]
        assert [row["label"] for row in got] == [row["label"] for row in expected]
        assert [row["colour_1"] for row in got] == [row["colour_1"] for row in expected]
        assert {row["label"] for row in got} == {"Upper-clothes", "Pants", "shoes"}
    assert list(read_table(out / "garments.parquet")) == rows


def test_reruns_never_duplicate_a_photo(
    photos: Path, tmp_path: Path, server: FakeInferenceServer
) -> None:
    out = tmp_path / "out"
    assert segment(photos, out, server, "--table") == 0
    first = table_lines(out / "garments.csv")
    assert segment(photos, out, server, "--table", "--no-resume") == 0  # every photo redone
    assert sorted(table_lines(out / "garments.csv")) == sorted(first)
    (out / "labels" / "look_2.png").unlink()  # one photo redone by a resumed run
    requests = server.requests
    assert segment(photos, out, server, "--table") == 0
    assert server.requests == requests + 1
    again = table_lines(out / "garments.csv")
    assert sorted(again) == sorted(first)
    assert len(again) == len(first) == 1 + 4 * 3


def test_table_of_a_folder_segmented_before_gets_every_photo(
    photos: Path, tmp_path: Path, server: FakeInferenceServer, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    assert segment(photos, out, server, "--quiet") == 0  # no table
    (out / "labels" / "look_3.png").unlink()
    requests = server.requests
    assert segment(photos, out, server, "--quiet", "--table") == 0  # redoes look_3 only
    assert server.requests == requests + 1
    names = Counter(line.split(",")[0] for line in table_lines(out / "garments.csv")[1:])
    assert names == {f"look_{i}": 3 for i in range(4)}
    assert "adding 3 photos done before to the garment table" in caplog.text


def test_garments_rebuilds_the_same_table_from_the_label_maps(
    photos: Path, tmp_path: Path, server: FakeInferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert segment(photos, out, server, "--table") == 0
    written = (out / "garments.csv").read_text(encoding="utf-8")
    (out / "garments.csv").unlink()
    capsys.readouterr()
    assert main(["garments", str(out), "--table", "parquet"]) == 0
    assert (out / "garments.csv").read_text(encoding="utf-8") == written
    assert (out / "garments.parquet").is_file()
    assert "4 photos, 12 rows" in capsys.readouterr().out
    assert not [p for p in out.rglob(".*") if p.name != ".segformer-clothes.lock"]


def test_garments_exit_codes(
    photos: Path, tmp_path: Path, server: FakeInferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert segment(photos, out, server, "--quiet") == 0
    assert main(["garments", str(tmp_path / "photos")]) == 2  # not an output folder
    assert "has no results.jsonl" in capsys.readouterr().err
    Image.new("RGB", (10, 10)).save(photos / "look_3.png")  # not the photo it was any more
    assert main(["garments", str(out)]) == 3
    assert "the photo is 10x10 but the label map is 40x56" in capsys.readouterr().err
    (photos / "look_1.png").unlink()
    assert main(["garments", str(out)]) == 1  # a missing photo: restore it and rerun
    assert "look_1" in capsys.readouterr().err
    names = {line.split(",")[0] for line in table_lines(out / "garments.csv")[1:]}
    assert names == {"look_0", "look_2"}
    (out / ".segformer-clothes.lock").write_text(
        json.dumps({"pid": os.getpid(), "host": os.uname().nodename})
    )
    assert main(["garments", str(out)]) == 4
    assert "another run" in capsys.readouterr().err


def test_table_of_other_columns_and_missing_extra_are_usage_errors(
    photos: Path,
    tmp_path: Path,
    server: FakeInferenceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "garments.csv").write_text("name,season\nlook,winter\n", encoding="utf-8")
    assert segment(photos, out, server, "--table") == 2
    assert "is not a garment table of this version" in capsys.readouterr().err
    assert server.requests == 0
    (out / "garments.csv").unlink()
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert segment(photos, out, server, "--table", "parquet") == 2
    assert 'pip install "segformer-clothes[analysis]"' in capsys.readouterr().err
    assert server.requests == 0


# pycocotools' own decoder builds its array in a way numpy 2 warns about.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_export_coco_is_loaded_back_by_pycocotools(
    photos: Path, tmp_path: Path, server: FakeInferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from pycocotools.coco import COCO

    out = tmp_path / "out"
    assert segment(photos, out, server, "--quiet") == 0
    destination = tmp_path / "export" / "coco.json"
    assert main(["export", "--coco", str(out), str(destination)]) == 0
    assert "4 photos" in capsys.readouterr().out
    coco = COCO(str(destination))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())][:4] == [
        "Hat", "Hair", "Sunglasses", "Upper-clothes",
    ]  # fmt: skip
    images = coco.loadImgs(coco.getImgIds())
    assert sorted(image["file_name"] for image in images) == [
        str(photos / f"look_{i}.png") for i in range(4)
    ]
    for image in images:
        name = Path(image["file_name"]).stem
        label_map = SegmentationResult.load(out / "labels" / f"{name}.png").label_map
        rebuilt = np.zeros_like(label_map)
        for annotation in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]])):
            rebuilt[coco.annToMask(annotation).astype(bool)] = annotation["category_id"]
        assert np.array_equal(rebuilt, label_map)
    (out / "labels" / "look_0.png").unlink()
    assert main(["export", "--coco", str(out), str(destination)]) == 1
    assert len(COCO(str(destination)).getImgIds()) == 3
    assert main(["export", "--coco", str(photos), str(destination)]) == 2
    assert main(["export", "--coco", str(out), str(tmp_path)]) == 2  # a folder
    assert "cannot write" in capsys.readouterr().err


def test_export_without_pycocotools_says_how_to_install_it(
    photos: Path,
    tmp_path: Path,
    server: FakeInferenceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert segment(photos, out, server, "--quiet") == 0
    monkeypatch.setitem(sys.modules, "pycocotools.mask", None)
    assert main(["export", "--coco", str(out), str(tmp_path / "coco.json")]) == 2
    assert 'pip install "segformer-clothes[analysis]"' in capsys.readouterr().err
    assert not (tmp_path / "coco.json").exists()
