"""``python -m segformer_clothes.cli``: the same as the ``segformer-clothes`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
