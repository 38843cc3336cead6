"""Catalogue analysis: what the photos of a catalogue wear, and how that changes.

`trend_report` reads a garment table and gives a `TrendReport`: garment frequency,
co-occurrence, the colours of each garment, coverage, optionally split by a column of your
own (a date, a source, a season). Its charts need matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

from .report import Distribution, TrendReport, trend_report

__all__ = ["Distribution", "TrendReport", "trend_report"]
