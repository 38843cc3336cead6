"""`segformer-clothes segment`: segment a catalogue of photos, unattended and resumable."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from tqdm import tqdm

from ..backends import Segmenter
from ..backends.remote.client import DEFAULT_MODEL
from ..catalogue import Photo, RecordLog, check_inputs, find_photos, read_records, write_atomically
from ..errors import AuthenticationError, ModelNotFoundError, SegformerClothesError
from ..images import load_image
from ..result import SegmentationResult

logger = logging.getLogger("segformer_clothes")

# Errors no retry or rerun can fix: the whole run stops on them.
FATAL_ERRORS = (AuthenticationError, ModelNotFoundError)


def add_parser(subparsers: Any) -> None:
    """Add the ``segment`` subcommand."""
    parser = subparsers.add_parser(
        "segment",
        help="segment photos (files, folders, glob patterns) into label maps, overlays, crops",
        description=(
            "Segment every photo named by INPUT (files, folders searched recursively, or glob "
            "patterns) and write DIR/labels/<name>.png, optionally DIR/overlays/<name>.jpg and "
            "DIR/crops/<name>/<label>.png, with one line per photo in DIR/results.jsonl. A rerun "
            "skips the photos already done and retries the ones that failed. The token is read "
            "from HF_TOKEN or HF_API_TOKEN, also from a .env file in the working folder."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo, folder or glob pattern")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write overlays (JPEG)")
    parser.add_argument("--crops", action="store_true", help="also write garment cut-outs (PNG)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model id (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--endpoint-url", help="POST to this URL (a dedicated endpoint or your own server)"
    )
    parser.add_argument(
        "--send-token",
        action="store_true",
        help=(
            "also send the token from HF_TOKEN / HF_API_TOKEN / .env to --endpoint-url (a "
            "protected dedicated endpoint); by default it goes only to Hugging Face's API"
        ),
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, default=4, help="requests in flight (default 4)"
    )
    parser.add_argument(
        "--rpm", type=_positive_float, help="requests per minute allowed (default: learn from 429s)"
    )
    parser.add_argument(
        "--max-side", type=_positive_int, help="downscale photos whose longer side exceeds this"
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=10,
        help="retries of a transient failure per photo (default 10; 0 turns them off)",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=120.0, help="seconds per request (default 120)"
    )
    parser.add_argument(
        "--local", action="store_true", help="run the model in-process (needs the `local` extra)"
    )
    parser.add_argument("--device", default="auto", help="with --local: auto, cpu, cuda, cuda:1")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=4, help="with --local: photos per batch"
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="redo every photo, even those already done"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="write a machine-readable summary there (- for stdout)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


class _Outputs:
    """The files one photo gets under the output folder, and whether they are all there."""

    def __init__(self, out: Path, overlay: bool, crops: bool) -> None:
        self.out = out
        self.overlay = overlay
        self.crops = crops

    def label_map(self, name: str) -> Path:
        return self.out / "labels" / f"{name}.png"

    def overlay_path(self, name: str) -> Path:
        return self.out / "overlays" / f"{name}.jpg"

    def crop_path(self, name: str, label: str) -> Path:
        return self.out / "crops" / name / f"{label}.png"

    def complete(self, record: dict[str, Any] | None) -> bool:
        if record is None or record.get("status") != "ok":
            return False
        name = str(record["name"])
        if not self.label_map(name).exists():
            return False
        if self.overlay and not self.overlay_path(name).exists():
            return False
        if self.crops:
            if "crops" not in record:
                return False
            return all(self.crop_path(name, label).exists() for label in record["crops"])
        return True

    def write(self, photo: Photo, result: SegmentationResult) -> list[str]:
        """Write every output of one photo; the label map last. Returns the crop labels."""
        written: list[str] = []
        if self.overlay or self.crops:
            picture = load_image(photo.path)
            if self.crops:
                for label, cutout in result.crops(picture).items():
                    write_atomically(
                        self.crop_path(photo.name, label),
                        lambda p, c=cutout: c.save(p, format="PNG"),
                    )
                    written.append(label)
            if self.overlay:
                overlay = result.overlay(picture)
                write_atomically(
                    self.overlay_path(photo.name),
                    lambda p: overlay.save(p, format="JPEG", quality=90),
                )
        write_atomically(self.label_map(photo.name), lambda p: result.save(p))
        return written


def _segmenter(args: argparse.Namespace) -> Segmenter:
    if args.local:
        from ..backends.local.segmenter import LocalSegmenter

        return LocalSegmenter(model=args.model, device=args.device, batch_size=args.batch_size)
    from ..backends.remote.auth import find_token
    from ..backends.remote.client import SegformerClothesClient

    token = None
    if args.send_token:
        token = find_token()
        if token is None:
            raise AuthenticationError("--send-token was given but no token was found")
    return SegformerClothesClient(
        model=args.model,
        endpoint_url=args.endpoint_url,
        token=token,
        timeout=args.timeout,
        max_retries=args.max_retries,
        max_concurrency=args.concurrency,
        requests_per_minute=args.rpm,
        max_side=args.max_side,
    )


def _count(inputs: list[str]) -> int:
    return sum(1 for _ in find_photos(inputs))


def run(args: argparse.Namespace) -> int:
    """Run ``segment``; returns the exit code (0 all done, 1 some failed, 2 usage error)."""
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        check_inputs(args.inputs)
    except FileNotFoundError as error:
        print(f"segformer-clothes segment: error: {error}", file=sys.stderr)
        return 2
    outputs = _Outputs(args.out, args.overlay, args.crops)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    records = {} if args.no_resume else read_records(results_path)
    show_progress = not args.quiet and sys.stderr.isatty()
    counts = {"done": 0, "skipped": 0, "failed": 0}
    in_flight: deque[tuple[Photo, float]] = deque()

    def to_do() -> Iterator[str]:
        for photo in find_photos(args.inputs):
            if outputs.complete(records.get(str(photo.path))):
                counts["skipped"] += 1
                progress.update(1)
                continue
            in_flight.append((photo, time.perf_counter()))
            yield str(photo.path)

    started = time.perf_counter()
    log = RecordLog(results_path)
    progress = tqdm(
        total=_count(args.inputs) if show_progress else None,
        disable=not show_progress,
        unit="photo",
        dynamic_ncols=True,
    )
    try:
        with _segmenter(args) as segmenter:
            for outcome in segmenter.segment_many(to_do(), return_exceptions=True):
                photo, began = in_flight.popleft()
                record: dict[str, Any] = {"input": str(photo.path), "name": photo.name}
                if isinstance(outcome, FATAL_ERRORS):
                    raise outcome
                if isinstance(outcome, BaseException):
                    record.update(
                        status="failed", error=str(outcome), error_type=type(outcome).__name__
                    )
                    counts["failed"] += 1
                else:
                    try:
                        crops = outputs.write(photo, outcome)
                    except (OSError, ValueError, SegformerClothesError) as error:
                        record.update(
                            status="failed", error=str(error), error_type=type(error).__name__
                        )
                        counts["failed"] += 1
                    else:
                        width, height = outcome.size
                        record.update(
                            status="ok",
                            width=width,
                            height=height,
                            labels=list(outcome.labels_present),
                            coverage={k: round(v, 6) for k, v in outcome.coverage().items()},
                            **({"crops": crops} if args.crops else {}),
                        )
                        counts["done"] += 1
                record["seconds"] = round(time.perf_counter() - began, 3)
                log.write(record)
                progress.update(1)
    except KeyboardInterrupt:
        progress.close()
        print(
            f"\nInterrupted after {counts['done']} photos; every finished photo is saved. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        return 130
    except ImportError as error:
        # --local without the `local` extra: the message gives the install command.
        progress.close()
        print(f"segformer-clothes segment: error: {error}", file=sys.stderr)
        return 2
    except SegformerClothesError as error:
        # No retry or rerun can fix these: a missing or refused token, a model not deployed.
        progress.close()
        print(f"segformer-clothes segment: error: {_explain(error)}", file=sys.stderr)
        return 2
    finally:
        log.close()
    progress.close()
    seconds = time.perf_counter() - started
    summary = {
        **counts,
        "seconds": round(seconds, 3),
        "images_per_second": round(counts["done"] / seconds, 3) if seconds > 0 else 0.0,
        "out": os.fspath(args.out),
        "results": os.fspath(results_path),
    }
    _report(summary, args.json)
    return 1 if counts["failed"] else 0


def _explain(error: SegformerClothesError) -> str:
    if isinstance(error, AuthenticationError) and getattr(error, "status_code", None) is None:
        return (
            "no Hugging Face token found. Set HF_TOKEN (or HF_API_TOKEN) in the environment or "
            "in a .env file in this folder (HF_TOKEN=hf_...); or point --endpoint-url at your "
            "own server, or run the model here with --local."
        )
    return str(error)


def _report(summary: dict[str, Any], json_path: str | None) -> None:
    text = (
        f"done {summary['done']}, skipped {summary['skipped']}, failed {summary['failed']} "
        f"in {summary['seconds']:.1f} s ({summary['images_per_second']:.2f} images/s)"
    )
    if summary["failed"]:
        text += f"; failures are listed in {summary['results']}, rerun to retry them"
    print(text, file=sys.stderr if json_path == "-" else sys.stdout)
    if json_path == "-":
        print(json.dumps(summary))
    elif json_path:
        Path(json_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
