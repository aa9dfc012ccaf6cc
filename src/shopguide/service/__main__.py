"""``python -m shopguide.service --db PATH [--host H] [--port N] [--model NAME] ...``.

The same as ``shopguide serve`` (which runs this). Keys come from ``SHOPGUIDE_API_KEYS``
(JSON) or ``SHOPGUIDE_API_KEYS_FILE``.

Compiled loops (numba) run on one thread per request unless ``NUMBA_NUM_THREADS`` is set: a
server gets its parallelism from concurrent requests, and a thread team per request costs
~10x the scoring itself when the cores are busy (measured: 7 ms against 0.7 ms per
recommendation on a loaded 2-core machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # before anything imports numba

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shopguide.service", description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="The store file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--model", default=None, help="Recommender to serve (default: the store's current model)."
    )
    parser.add_argument("--keys-file", type=Path, default=None, help="JSON file of keys/roles.")
    parser.add_argument("--no-prepare", action="store_true", help="Do not build profiles at start.")
    parser.add_argument(
        "--train-if-missing",
        action="store_true",
        help="Train the model at start if none is published.",
    )
    args = parser.parse_args(argv)

    from shopguide.errors import ShopGuideError
    from shopguide.service.app import run
    from shopguide.service.settings import load_settings

    overrides: dict[str, object] = {"db": args.db, "model": args.model}
    overrides["prepare"] = not args.no_prepare
    overrides["train_if_missing"] = args.train_if_missing
    if args.keys_file is not None:
        overrides["api_keys_file"] = args.keys_file
    try:
        run(load_settings(**overrides), host=args.host, port=args.port)
    except ShopGuideError as error:  # one message and status 2, as the CLI gives
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"how to fix: {error.hint}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
