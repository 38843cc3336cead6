"""What a catalogue's photos show: the garments of each photo, their colours, the table of
a whole catalogue (the ``analysis`` extra: scikit-image, scipy, pycocotools, pyarrow), and
the trend report drawn from that table (its charts need matplotlib, the ``plot`` extra).

- `segformer_clothes.analysis.garments`: `find_garments`, the `Garment` and `Colour` records
  (`SegmentationResult.garments` calls it), and the quality flags.
- `segformer_clothes.analysis.colours`: the colour vocabulary `COLOUR_NAMES` and the
  conversions between sRGB, CIELAB and names.
- `segformer_clothes.analysis.table`: the garment table's columns, its rows, the CSV writer
  and Parquet.
- `segformer_clothes.analysis.report`: `trend_report`, the `TrendReport` of a garment table:
  garment frequency, co-occurrence, the colours of each garment, coverage, optionally split
  by a column of your own (a date, a source, a season).

The modules import without the extra; what needs it raises an ImportError that gives the
install command, ``pip install "segformer-clothes[analysis]"``.

Example:
    >>> from segformer_clothes.analysis import COLOUR_NAMES, TABLE_COLUMNS
    >>> len(COLOUR_NAMES), TABLE_COLUMNS[:5]
    (32, ('name', 'input', 'width', 'height', 'label'))
"""

from __future__ import annotations

from ._requires import INSTALL_COMMAND
from .colours import COLOUR_NAMES, name_colour
from .garments import Colour, Garment, find_garments, photo_flags
from .report import Distribution, TrendReport, trend_report
from .table import TABLE_COLUMNS, TableWriter, read_table, table_rows, write_parquet

__all__ = [
    "COLOUR_NAMES",
    "INSTALL_COMMAND",
    "TABLE_COLUMNS",
    "Colour",
    "Distribution",
    "Garment",
    "TableWriter",
    "TrendReport",
    "find_garments",
    "name_colour",
    "photo_flags",
    "read_table",
    "table_rows",
    "trend_report",
    "write_parquet",
]
