"""The trend report of a garment table: its numbers, counted from tables written by hand,
the errors a bad table gives, and the files it writes."""

from __future__ import annotations

import base64
import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from garment_tables import BEIGE, NAVY, WHITE, catalogue_rows, row, write_csv
from segformer_clothes.analysis import COLOUR_NAMES, Distribution, TrendReport, trend_report


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "garments.csv", catalogue_rows())


def test_frequency_counts_every_photo_of_the_table_including_those_without_garments(
    table: Path,
) -> None:
    report = trend_report(table)
    assert report.photos == 5
    assert report.garments == ("Pants", "Upper-clothes", "Skirt")  # most frequent, then by name
    assert report.photos_with == {"Pants": 3, "Upper-clothes": 3, "Skirt": 1}
    assert report.frequency == {"Pants": 0.6, "Upper-clothes": 0.6, "Skirt": 0.2}


def test_co_occurrence_counts_the_photos_with_both_garments(table: Path) -> None:
    together = trend_report(table).co_occurrence
    assert together["Pants"]["Upper-clothes"] == together["Upper-clothes"]["Pants"] == 2
    assert together["Upper-clothes"]["Skirt"] == 1
    assert together["Pants"]["Skirt"] == 0
    assert [together[label][label] for label in ("Pants", "Upper-clothes", "Skirt")] == [3, 3, 1]


def test_each_garment_counts_once_split_among_its_colours(table: Path) -> None:
    colours = trend_report(table).colours
    assert colours["Upper-clothes"] == {"navy": 0.6, "white": 0.4}
    assert colours["Pants"] == {"beige": 0.8, "navy": 0.2}
    assert colours["Skirt"] == {"navy": 0.5, "white": 0.5}
    assert list(colours["Pants"]) == ["beige", "navy"]  # the largest first


def test_a_garment_whose_colours_do_not_sum_to_one_still_counts_once(tmp_path: Path) -> None:
    rows = [
        row("a", "Hat", colours=[(NAVY, "navy", 0.3), (WHITE, "white", 0.1)]),
        row("b", "Hat", colours=[(WHITE, "white", 0.9)]),
        row("c", "Hat"),  # no colour named: left out of the colours, not of the frequency
    ]
    report = trend_report(write_csv(tmp_path / "t.csv", rows))
    assert report.photos_with == {"Hat": 3}
    assert report.colours["Hat"] == {"white": 0.625, "navy": 0.375}
    assert math.isclose(sum(report.colours["Hat"].values()), 1.0)


def test_coverage_distributions_of_photo_and_person_shares(table: Path) -> None:
    report = trend_report(table)
    pants_photo, pants_person = report.photo_share["Pants"], report.person_share["Pants"]
    assert sorted(pants_photo.values) == [0.05, 0.2, 0.25]
    assert pants_photo.median == 0.2
    # The photo without a person gives no share of a person.
    assert sorted(pants_person.values) == [0.35, 0.45]
    assert pants_person.median == 0.4
    assert pants_person.quartiles == (0.375, 0.425)
    assert report.photo_share["Upper-clothes"].range == (0.2, 0.4)


def test_distribution_numbers_are_numpy_percentiles() -> None:
    values = tuple(np.random.default_rng(0).random(11).round(4).tolist())
    spread = Distribution(values)
    assert spread.count == 11
    assert spread.median == round(float(np.median(values)), 6)
    assert spread.quartiles == tuple(round(float(np.percentile(values, q)), 6) for q in (25, 75))
    assert math.isnan(Distribution(()).median)


def test_quality_flags_count_photos(table: Path) -> None:
    assert trend_report(table).flags == {"no_person": 2, "small_garment": 1}


def test_split_by_a_column_gives_each_group_its_own_report(table: Path) -> None:
    report = trend_report(table, by="season")
    assert report.by == "season"
    assert list(report.groups) == ["2024-spring", "2024-summer", "(blank)"]
    spring, summer, blank = report.groups.values()
    assert (spring.photos, summer.photos, blank.photos) == (2, 2, 1)
    assert spring.frequency == {"Upper-clothes": 1.0, "Pants": 0.5, "Skirt": 0.5}
    assert summer.frequency == {"Pants": 1.0, "Upper-clothes": 0.5}
    assert blank.frequency == {}
    assert summer.colours["Upper-clothes"] == {"navy": 1.0}
    # The whole table's numbers do not change with the split.
    assert report.frequency == trend_report(table).frequency


def test_groups_of_numbers_come_in_numeric_order(tmp_path: Path) -> None:
    rows = [row(f"p{week}", "Hat", week=str(week)) for week in (10, 9, 2, 1)]
    report = trend_report(write_csv(tmp_path / "t.csv", rows), by="week")
    assert list(report.groups) == ["1", "2", "9", "10"]


def test_rows_of_one_photo_that_disagree_on_the_by_column_are_an_error(tmp_path: Path) -> None:
    rows = [row("look", "Hat", source="shop"), row("look", "Bag", source="blog")]
    with pytest.raises(ValueError, match=r"photo 'look' disagree on source \('shop' and 'blog'\)"):
        trend_report(write_csv(tmp_path / "t.csv", rows), by="source")


def test_splitting_by_a_missing_column_names_it_and_the_columns_there_are(table: Path) -> None:
    with pytest.raises(ValueError, match=r"has no column 'date' to split .*season"):
        trend_report(table, by="date")
    with pytest.raises(ValueError, match="column of the garment table itself"):
        trend_report(table, by="label")


def test_rows_as_mappings_give_the_same_report(table: Path) -> None:
    with table.open(encoding="utf-8", newline="") as file:
        from_rows = trend_report(csv.DictReader(file), by="season")
    from_file = trend_report(table, by="season")
    assert from_rows.source == "the rows given"
    for field in ("photos", "photos_with", "co_occurrence", "colours", "flags"):
        assert getattr(from_rows, field) == getattr(from_file, field)
    assert from_rows.groups.keys() == from_file.groups.keys()


def test_a_folder_is_read_through_its_garments_csv(table: Path) -> None:
    assert trend_report(table.parent).source == str(table)


def test_a_missing_column_is_named_with_the_file(tmp_path: Path) -> None:
    rows = [{k: v for k, v in row("a", "Hat").items() if k != "person_share"}]
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))} .* no column person_share"):
        trend_report(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"photo_share": "lots"}, r"line 3: column photo_share holds 'lots', not a number"),
        ({"person_share": "1.5"}, r"line 3: column person_share holds 1.5, not a share"),
        ({"photo_share": ""}, r"line 3: column photo_share is empty"),
        ({"name": ""}, r"line 3: column name is empty"),
        ({"colour_1": "navy"}, r"line 3: column colour_1 holds 'navy', not an sRGB colour"),
        ({"colour_1_share": "x"}, r"line 3: column colour_1_share holds 'x'"),
    ],
)
def test_a_bad_cell_names_the_file_line_and_column(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    rows = [row("a", "Hat"), {**row("b", "Bag", colours=[(NAVY, "navy", 1.0)]), **change}]
    path = write_csv(tmp_path / "t.csv", rows)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}, {message}"):
        trend_report(path)


def test_a_line_with_too_many_fields_is_named(table: Path) -> None:
    with table.open("a", encoding="utf-8") as file:
        file.write("look_9,extra," + "," * 30 + "\n")
    with pytest.raises(ValueError, match=r"line 10: 33 fields where the header has 25"):
        trend_report(table)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        (",".join(row("a")) + "\n", "has no rows"),
        ("just,some,columns\n1,2,3\n", "is not a garment table: it has no column name, label"),
    ],
)
def test_a_table_that_is_not_one_says_so(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        trend_report(path)


def test_a_missing_or_wrong_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"the table .*nothing.csv does not exist"):
        trend_report(tmp_path / "nothing.csv")
    with pytest.raises(FileNotFoundError, match="holds no garments.csv or garments.parquet"):
        trend_report(tmp_path)
    (tmp_path / "t.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t.json is not a garment table: give a .csv"):
        trend_report(tmp_path / "t.json")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="is not a CSV text file"):
        trend_report(tmp_path / "binary.csv")


def test_a_swatch_is_drawn_in_the_vocabulary_s_reference_colour(table: Path) -> None:
    swatches = trend_report(table).swatches
    assert swatches == {name: COLOUR_NAMES[name] for name in ("beige", "navy", "white")}
    assert swatches["navy"] != NAVY  # the shade the table gives is not the swatch's


def test_a_swatch_takes_the_colour_the_table_gives_a_name_it_does_not_know(
    tmp_path: Path,
) -> None:
    rows = [
        row("a", "Hat", colours=[("#102030", "inkwell", 1.0)]),
        row("b", "Hat", colours=[("#304050", "inkwell", 1.0)]),
    ]
    report = trend_report(write_csv(tmp_path / "t.csv", rows))
    assert report.swatches["inkwell"] == "#203040"  # the mean of the two, equal shares


def test_a_table_without_any_garment_gives_a_report_without_charts(tmp_path: Path) -> None:
    report = trend_report(write_csv(tmp_path / "t.csv", [row("a"), row("b")]))
    assert (report.photos, report.garments) == (2, ())
    written = report.write(tmp_path / "report")
    assert sorted(p.name for p in written) == ["report.html", "report.md"]
    assert "No photo of the table has a garment" in (tmp_path / "report" / "report.md").read_text(
        encoding="utf-8"
    )


def assert_chart(data: bytes, path: Path) -> None:
    path.write_bytes(data)
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        pixels = np.asarray(picture.convert("L"))
    assert pixels.std() > 5, f"{path.name} is blank"


def test_write_gives_a_self_contained_page_and_markdown_with_its_charts(
    table: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    written = trend_report(table, by="season").write(out)
    charts = {
        "frequency.png",
        "co_occurrence.png",
        "colours.png",
        "coverage.png",
        "frequency_by_group.png",
        "colours_by_group.png",
    }
    assert {p.name for p in written} == {*charts, "report.md", "report.html"}
    assert {p.name for p in out.iterdir()} == {*charts, "report.md", "report.html"}
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert sorted(re.findall(r"\]\((\w+\.png)\)", markdown)) == sorted(charts)
    assert "| Pants | 3 | 60.0% |" in markdown
    assert "| Pants + Upper-clothes | 2 | 40.0% |" in markdown
    assert "| Upper-clothes | navy 60.0%, white 40.0% |" in markdown
    assert "## By season" in markdown
    assert "| photos | 2 | 2 | 1 |" in markdown
    for chart in charts:
        assert_chart((out / chart).read_bytes(), tmp_path / "check.png")
    page = (out / "report.html").read_text(encoding="utf-8")
    # Self-contained: every picture inside the page, nothing to fetch from anywhere.
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(charts)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<script|<link rel=\"stylesheet\"|@import|url\(", page)
    for source, chart in zip(sources, re.findall(r'data-chart="([^"]+)"', page), strict=True):
        assert base64.b64decode(source.split(",", 1)[1]) == (out / chart).read_bytes()
    # A swatch of each colour listed, in the vocabulary's colour (not the table's shade).
    assert f'style="background:{COLOUR_NAMES["beige"]}"' in page
    assert BEIGE not in page
    assert "navy 60.0%" in page


def test_write_only_the_formats_asked_for(table: Path, tmp_path: Path) -> None:
    report = trend_report(table)
    assert [p.name for p in report.write(tmp_path / "html", formats=["html"])] == ["report.html"]
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == ["report.html"]
    names = [p.name for p in report.write(tmp_path / "md", formats=["md"])]
    assert "report.html" not in names
    assert "report.md" in names
    with pytest.raises(ValueError, match="unknown report format 'pdf': choose among html, md"):
        report.write(tmp_path / "x", formats=["pdf"])


def test_text_from_the_table_is_escaped_in_the_page(tmp_path: Path) -> None:
    rows = [row("a", "Hat", source="<b>shop</b> | blog")]
    report = trend_report(write_csv(tmp_path / "t.csv", rows), by="source")
    page = report.to_html()
    assert "<b>shop</b>" not in page
    assert "&lt;b&gt;shop&lt;/b&gt;" in page
    assert "\\| blog" in report.to_markdown()


def test_figures_are_matplotlib_figures_for_notebooks(table: Path) -> None:
    from matplotlib.figure import Figure

    figures = trend_report(table).figures()
    assert list(figures) == ["frequency.png", "co_occurrence.png", "colours.png", "coverage.png"]
    assert all(isinstance(figure, Figure) for figure in figures.values())


def test_the_report_is_a_value(table: Path) -> None:
    report = trend_report(table)
    assert isinstance(report, TrendReport)
    with pytest.raises(AttributeError):
        report.photos = 3  # type: ignore[misc]


def test_importing_the_report_loads_no_http_stack_no_matplotlib_and_no_pyarrow() -> None:
    code = (
        "import sys, segformer_clothes.analysis.report; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert not loaded & {"httpx", "anyio", "tenacity", "torch", "matplotlib", "pyarrow"}


def test_a_parquet_table_without_pyarrow_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "garments.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # importing it now fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=re.escape('pip install "segformer-clothes[analysis]"')):
        trend_report(tmp_path / "garments.parquet")


def test_charts_without_matplotlib_name_the_install_command(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = trend_report(table)  # the numbers need no matplotlib
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=re.escape('pip install "segformer-clothes[plot]"')):
        report.write(table.parent / "report")
