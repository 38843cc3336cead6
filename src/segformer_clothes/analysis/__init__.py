"""What a catalogue's photos show: the garments of each photo, their colours, and the table of
a whole catalogue (the ``analysis`` extra: scikit-image, scipy, pycocotools, pyarrow).

- `segformer_clothes.analysis.garments`: `find_garments`, the `Garment` and `Colour` records
  (`SegmentationResult.garments` calls it), and the quality flags.
- `segformer_clothes.analysis.colours`: the colour vocabulary `COLOUR_NAMES` and the
  conversions between sRGB, CIELAB and names.
- `segformer_clothes.analysis.table`: the garment table's columns, its rows, the CSV writer
  and Parquet.

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
from .table import TABLE_COLUMNS, TableWriter, read_table, table_rows, write_parquet

__all__ = [
    "COLOUR_NAMES",
    "INSTALL_COMMAND",
    "TABLE_COLUMNS",
    "Colour",
    "Garment",
    "TableWriter",
    "find_garments",
    "name_colour",
    "photo_flags",
    "read_table",
    "table_rows",
    "write_parquet",
]
