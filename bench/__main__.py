"""``python -m bench [--quick] [--only polling,delivery] [--output PATH]``.

Runs the benchmark sections (see bench/suite.py), prints a markdown table per
section and writes the figures to bench/results.json. Set
STORYWATCH_TEST_POSTGRES_URL to add the PostgreSQL figures and the scale-out section.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.suite import RESULTS, SECTIONS, run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 5 minutes)")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated sections: " + ",".join(s.key for s in SECTIONS),
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {s.key for s in SECTIONS}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    report = run_suite(args.quick, only, args.output)
    failed = [k for k, v in report["sections"].items() if "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
