"""A trend report laid out once, as headings, paragraphs, tables and charts, and rendered as
Markdown or as one self-contained HTML page (charts as data: URIs, styles inline)."""

from __future__ import annotations

import base64
import html as html_text
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .report import TrendReport

__all__ = ["MOST_GARMENTS_BY_GROUP", "html", "markdown"]

MOST_GARMENTS_BY_GROUP = 6
"""The colours-by-group chart shows the most frequent garments only, up to this many."""
_MOST_PAIRS = 10
_MOST_COLOURS = 5


@attrs.frozen
class Swatches:
    """A table cell of colours: (name, share, #rrggbb) each."""

    colours: tuple[tuple[str, float, str], ...]


Cell = str | Swatches


@attrs.frozen
class Heading:
    text: str


@attrs.frozen
class Paragraph:
    text: str


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@attrs.frozen
class Chart:
    name: str  # the PNG's file name
    alt: str


Block = Heading | Paragraph | Table | Chart


def _percent(share: float) -> str:
    return "n/a" if math.isnan(share) else f"{share:.1%}"


def _swatches(report: TrendReport, shares: Mapping[str, float]) -> Swatches:
    top = list(shares.items())[:_MOST_COLOURS]
    return Swatches(tuple((name, share, report.swatches[name]) for name, share in top))


def _blocks(report: TrendReport, charts: Sequence[str]) -> list[Block]:
    order = report.garments
    garments = sum(report.photos_with.values())
    blocks: list[Block] = [
        Paragraph(
            f"From {report.source}: {report.photos} photos, {garments} garments "
            f"({len(order)} kinds). Shares of photos count every photo of the table, "
            "those without any garment included."
        )
    ]

    def chart(name: str, alt: str) -> None:
        if name in charts:
            blocks.append(Chart(name, alt))

    if not order:
        blocks.append(Paragraph("No photo of the table has a garment: there is no trend to show."))
        return blocks
    blocks.append(Heading("Garment frequency"))
    blocks.append(
        Table(
            ("garment", "photos", "share of photos"),
            tuple(
                (label, str(report.photos_with[label]), _percent(report.frequency[label]))
                for label in order
            ),
        )
    )
    chart("frequency.png", "Bar chart: the share of the photos with each garment")
    blocks.append(Heading("Co-occurrence"))
    pairs = sorted(
        (
            (report.co_occurrence[a][b], a, b)
            for i, a in enumerate(order)
            for b in order[i + 1 :]
            if report.co_occurrence[a][b]
        ),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )[:_MOST_PAIRS]
    if pairs:
        blocks.append(Paragraph("The garments most often found together in one photo:"))
        blocks.append(
            Table(
                ("garments", "photos", "share of photos"),
                tuple(
                    (f"{a} + {b}", str(count), _percent(count / report.photos))
                    for count, a, b in pairs
                ),
            )
        )
    else:
        blocks.append(Paragraph("No photo has two garments."))
    chart(
        "co_occurrence.png",
        "Heatmap: of the photos with each garment, the share that also have each other one",
    )
    blocks.append(Heading("Colours"))
    blocks.append(
        Paragraph(
            "Each garment counts once, split among its dominant colours by their shares; "
            f"the {_MOST_COLOURS} largest are listed."
        )
    )
    blocks.append(
        Table(
            ("garment", "colours"),
            tuple((label, _swatches(report, report.colours[label])) for label in order),
        )
    )
    chart("colours.png", "Swatch bars: the colours of each garment, each as wide as its share")
    blocks.append(Heading("Coverage"))
    blocks.append(
        Paragraph(
            "How much of the photo, and of the person (every pixel that is not background), "
            "each garment covers: the median and the quartiles over the garments found."
        )
    )
    blocks.append(Table(*_coverage_rows(report)))
    chart("coverage.png", "Box plots: each garment's share of the photo and of the person")
    blocks.append(Heading("Quality flags"))
    if report.flags:
        blocks.append(
            Table(
                ("flag", "photos"),
                tuple((flag, str(count)) for flag, count in report.flags.items()),
            )
        )
    else:
        blocks.append(Paragraph("No photo carries a quality flag."))
    if report.by is not None:
        blocks += _by_blocks(report, charts)
    return blocks


def _coverage_rows(report: TrendReport) -> tuple[tuple[str, ...], tuple[tuple[Cell, ...], ...]]:
    header = ("garment", "share of photo", "quartiles", "share of person", "quartiles")
    rows = []
    for label in report.garments:
        cells: list[Cell] = [label]
        for spread in (report.photo_share[label], report.person_share[label]):
            low, high = spread.quartiles
            cells += [_percent(spread.median), f"{_percent(low)} – {_percent(high)}"]
        rows.append(tuple(cells))
    return header, tuple(rows)


def _by_blocks(report: TrendReport, charts: Sequence[str]) -> list[Block]:
    column, groups = str(report.by), list(report.groups)
    blocks: list[Block] = [
        Heading(f"By {column}"),
        Paragraph(
            f"The same, for the photos of each value of {column}: the share of the group's "
            "photos with each garment, then each garment's leading colour."
        ),
        Table(
            ("garment", *groups),
            (
                ("photos", *(str(report.groups[g].photos) for g in groups)),
                *(
                    (label, *(_percent(report.groups[g].frequency.get(label, 0.0)) for g in groups))
                    for label in report.garments
                ),
            ),
        ),
    ]
    if "frequency_by_group.png" in charts:
        blocks.append(Chart("frequency_by_group.png", f"Line chart: garment frequency by {column}"))

    def leading(group: str, label: str) -> Cell:
        shares = report.groups[group].colours.get(label, {})
        return _swatches(report, dict(list(shares.items())[:1])) if shares else "–"

    blocks.append(
        Table(
            ("leading colour", *groups),
            tuple((label, *(leading(g, label) for g in groups)) for label in report.garments),
        )
    )
    if "colours_by_group.png" in charts:
        blocks.append(
            Chart("colours_by_group.png", f"Swatch bars: each garment's colours by {column}")
        )
    return blocks


def _markdown_cell(cell: Cell) -> str:
    if isinstance(cell, Swatches):
        text = ", ".join(f"{name} {_percent(share)}" for name, share, _ in cell.colours)
        return text or "–"
    return cell.replace("|", "\\|")


def markdown(report: TrendReport, charts: Sequence[str]) -> str:
    """The report as Markdown, linking the PNG charts named in ``charts`` (beside it)."""
    lines = ["# Trend report", ""]
    for block in _blocks(report, charts):
        if isinstance(block, Heading):
            lines += [f"## {block.text}", ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Chart):
            lines += [f"![{block.alt}]({block.name})", ""]
        else:
            lines.append("| " + " | ".join(_markdown_cell(c) for c in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            lines += [
                "| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in block.rows
            ]
            lines.append("")
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1, h2 { font-weight: 600; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f6f6f6; }
img { max-width: 100%; height: auto; display: block; margin: 0.8rem 0; }
.swatch { display: inline-block; width: 0.9rem; height: 0.9rem; border: 1px solid #555;
          vertical-align: middle; margin: 0 0.25rem 0 0.5rem; }
"""


def _html_cell(cell: Cell) -> str:
    if isinstance(cell, Swatches):
        if not cell.colours:
            return "–"
        return "".join(
            f'<span class="swatch" style="background:{hex_code}" title="{hex_code}"></span>'
            f"{html_text.escape(name)} {_percent(share)}"
            for name, share, hex_code in cell.colours
        )
    return html_text.escape(cell)


def html(report: TrendReport, pictures: Mapping[str, bytes]) -> str:
    """The report as one HTML page; ``pictures`` are the charts' PNG bytes by file name."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',  # no request for a favicon, even from a server
        "<title>Trend report</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>Trend report</h1>",
    ]
    for block in _blocks(report, list(pictures)):
        if isinstance(block, Heading):
            parts.append(f"<h2>{html_text.escape(block.text)}</h2>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{html_text.escape(block.text)}</p>")
        elif isinstance(block, Chart):
            data = base64.b64encode(pictures[block.name]).decode("ascii")
            parts.append(
                f'<img src="data:image/png;base64,{data}" alt="{html_text.escape(block.alt)}" '
                f'data-chart="{html_text.escape(block.name)}">'
            )
        else:
            parts.append("<table>")
            parts.append(
                "<tr>" + "".join(f"<th>{html_text.escape(c)}</th>" for c in block.header) + "</tr>"
            )
            parts += [
                "<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            ]
            parts.append("</table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
