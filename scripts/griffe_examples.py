"""A griffe extension for the docs build: render ``Example:`` sections as code examples.

The project's Google-style docstrings title their doctest section ``Example:``. Griffe knows
only ``Examples:`` as the examples section and renders ``Example:`` as an admonition of Markdown
text, where ``>>>`` lines turn into nested quotes and ``x["Hat"]`` into a broken link. This
extension renames the title before griffe parses the docstring, so the examples show as code.
It is loaded by ``mkdocs.yml`` (``extensions:`` of the mkdocstrings Python handler).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# "Example:" alone on its line, at any indentation, as a section title.
_SINGULAR_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExamplesSection(griffe.Extension):
    """Rename ``Example:`` section titles to ``Examples:`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _SINGULAR_TITLE.sub(r"\1Examples:", docstring.value)
