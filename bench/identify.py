"""Identification of imported history rows, the pure step alone, as the identity index grows.

The synthetic export of ``bench/replay.py`` (four records a child, the rows of each child spread
through the file) goes through :func:`connectors.history_import.parse_export` and
:func:`streams.decisions.identification.identify_import` against an in-memory index, with no
broker or worker: the figure is what identification itself costs per row. The first quarter of
the rows are new children (matched, or not, on name and date of birth); the rest find their
child by NHS number. Rows/s is printed for each slice of ``--every`` rows.

    .venv/bin/python bench/identify.py [--rows 300000] [--every 50000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from replay import SOURCE_SYSTEM, Export
from rich.console import Console

from connectors.history_import import parse_export
from streams.decisions.identification import identify_import


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows of the export")
    parser.add_argument("--every", type=int, default=50_000, help="rows in each printed slice")
    args = parser.parse_args()
    console = Console(highlight=False)
    export = Export(args.rows)
    children = len(export.children)
    console.print(f"{args.rows:,} rows about {children:,} children; pure identification step")
    index: dict[str, Any] = {}
    done = 0
    started = time.perf_counter()
    for chunk in export.chunks():
        events, _problems = parse_export(chunk, SOURCE_SYSTEM, datetime.now(UTC))
        for event in events:
            _identified, updates = identify_import(event, index)
            index.update(updates)
            done += 1
            if done % args.every == 0 or done == args.rows:
                now = time.perf_counter()
                size = done % args.every or args.every
                first = done - size
                kind = (
                    "new children"
                    if done <= children
                    else "known children"
                    if first >= children
                    else "new and known children"
                )
                console.print(
                    f"rows {done - size:,}-{done:,} ({kind}): {size / (now - started):,.0f} rows/s"
                )
                started = now


if __name__ == "__main__":
    main()
