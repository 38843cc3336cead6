"""``python -m segformer_clothes.testing``: run `FakeInferenceServer` until stopped, so that
shell scripts and other programs can test their pipelines against it with no model and no
network. It listens on 127.0.0.1 only and prints its URL on the first line.

Example (in a shell)::

    python -m segformer_clothes.testing --port 8080 &
    segformer-clothes segment photos/ --out out/ --endpoint-url http://127.0.0.1:8080/models/x
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._server import FAULTS, FakeInferenceServer


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m segformer_clothes.testing",
        description="Run a local stand-in of the image-segmentation API (no model) on "
        "127.0.0.1 until stopped. Its answers are drawn from each photo's shape.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests that get a fault"
    )
    parser.add_argument(
        "--faults", nargs="*", default=(), choices=FAULTS, metavar="FAULT",
        help="a script of faults for the first requests, one per request",
    )  # fmt: skip
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = FakeInferenceServer(
            port=args.port, latency=args.latency, fault_rate=args.fault_rate, faults=args.faults
        )
        server.start()
    except (ValueError, OSError) as error:
        print(f"python -m segformer_clothes.testing: error: {error}", file=sys.stderr)
        return 2
    print(server.url, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
