"""The optional libraries of the garment analysis, imported when first needed, with the install
command in the error when one is missing."""

from __future__ import annotations

import importlib
from typing import Any

INSTALL_COMMAND = 'pip install "segformer-clothes[analysis]"'


def require(module: str, purpose: str) -> Any:
    """Import ``module`` (for ``purpose``, in a few words), or raise an ImportError that says
    how to install the ``analysis`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs {package}, which is not installed. Install the garment analysis "
            f'with: {INSTALL_COMMAND} (from a clone of the repository: pip install ".[analysis]")'
        ) from error
