"""How a setting of the library reads on the command line: its flag, its default, its error."""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..errors import SettingError

__all__ = ["Flag", "default_of", "dest", "usage_error"]


@attrs.frozen
class Flag:
    """The option that sets one setting of the library.

    Attributes:
        name: the option, such as ``--max-retries``.
        when_left_out: for a setting that may be absent, what leaving the option out does
            (``"learn the limit from 429 answers"``); None for a setting that always has a value.
    """

    name: str
    when_left_out: str | None = None

    @property
    def dest(self) -> str:
        return dest(self.name)


def dest(flag: str) -> str:
    """The attribute argparse stores an option under: ``--max-retries`` -> ``max_retries``."""
    return flag.lstrip("-").replace("-", "_")


def default_of(function: Callable[..., Any], parameter: str) -> Any:
    """The default a callable's own signature gives a keyword, so the command never restates it."""
    return inspect.signature(function).parameters[parameter].default


def _as_typed(value: object) -> str:
    # The value as it was typed: `cuda`, not `'cuda'`; `-5`, not `-5.0`.
    if isinstance(value, str):
        return shlex.quote(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def usage_error(error: SettingError, flags: Mapping[str, Flag]) -> str:
    """The one-line message for a bad setting, in the command's terms.

    Built from the error's ``setting``, ``value`` and ``requirement``, so that the rule is the
    one the library checks, worded once: ``--max-retries must be a whole number, 0 or more,
    got -1``. A setting that is none of the command's options reads as the library says it.
    """
    flag = flags.get(error.setting)
    if flag is None:
        return str(error)
    line = f"{flag.name} must be {error.requirement}, got {_as_typed(error.value)}"
    if flag.when_left_out is not None:
        line += f"; leave {flag.name} out to {flag.when_left_out}"
    return line
