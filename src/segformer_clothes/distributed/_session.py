"""Connecting to Ray: a local Ray bound to 127.0.0.1, or a cluster joined by address."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["import_ray", "ray_session"]

_INSTALL = 'pip install "segformer-clothes[ray]"'
_LOOPBACK = ("127.0.0.1", "localhost")


def import_ray(*, loopback: bool = False) -> Any:
    """Ray, with Ray Data's context created and quiet; ImportError naming the extra.

    With ``loopback``, this process and the Ray processes it starts take 127.0.0.1 as the
    node's address and listen there only. Ray otherwise swaps a loopback address given to it
    for the machine's network address; its single-machine mode
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read when Ray is imported) keeps it.
    """
    if loopback:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        constants = sys.modules.get("ray._private.ray_constants")
        if constants is not None:  # Ray imported already: it read the variable then
            setattr(constants, "ENABLE_RAY_CLUSTER", False)  # noqa: B010
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(f"running on Ray needs Ray Data: {_INSTALL}") from error
    with warnings.catch_warnings():
        # Creating the context sets one of Ray's own deprecated fields (it warns about
        # itself); a program that turns warnings into errors must still run.
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the command shows its own progress
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # Its one line saying that the progress bars turned off above are off.
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    return ray


@contextlib.contextmanager
def ray_session(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    object_store_memory: int | None = None,
) -> Iterator[None]:
    """Connect this process to Ray for the ``with`` block.

    Without ``address``, a local Ray is started for the block, bound to 127.0.0.1 with no
    dashboard, in a fresh temporary folder (so nothing a killed Ray left behind matters), and
    shut down after it. With ``address`` (``HOST:PORT`` of a cluster's head, or ``auto``) the
    cluster is joined, then left. Either way usage statistics are off. If this process is
    already connected, the block runs on that connection and leaves it open.

    Args:
        address: the cluster to join; None starts a local one.
        num_cpus: the local Ray's logical CPUs; four per core when left out (an actor pool
            and the read tasks then fit on a small machine).
        object_store_memory: the local Ray's object store, in bytes; Ray's default when left
            out.
    """
    loopback = address is None or address.rpartition(":")[0] in _LOOPBACK
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        yield
        return
    if address is None:
        _token_in_memory()  # before Ray is imported: it reads its settings then
    ray = import_ray(loopback=loopback)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    temporary = None
    if address is None:
        temporary = tempfile.mkdtemp(prefix="segformer-ray-")
        options.update(
            address="local",
            _node_ip_address="127.0.0.1",  # with single-machine mode (see import_ray)
            include_dashboard=False,
            num_cpus=num_cpus or 4 * (os.cpu_count() or 1),
            object_store_memory=object_store_memory,
            _temp_dir=temporary,
        )
    else:
        options["address"] = address
        if loopback:
            options["_node_ip_address"] = "127.0.0.1"
    ray.init(**options)
    try:
        yield
    finally:
        ray.shutdown()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _token_in_memory() -> None:
    """Token authentication for a new local Ray, with a token that lives only in this
    process's environment (its Ray processes inherit it), where Ray would otherwise write a
    new one to ~/.ray/auth_token. A token or mode the user set is kept."""
    if any(
        os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    ):
        return
    if "ray" in sys.modules:
        return  # Ray has read its settings already: it makes its own token
    if (Path.home() / ".ray" / "auth_token").exists():
        return  # Ray reads the user's own token
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
