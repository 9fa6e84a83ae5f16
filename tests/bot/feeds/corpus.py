"""Where the shared feed corpus lives and how to list it (read-only, beside the repo)."""

from __future__ import annotations

import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SHARED_FEEDS = REPO / ".." / "shared" / "feeds"
REAL_DIR = SHARED_FEEDS / "real"
HOSTILE_DIR = SHARED_FEEDS / "hostile"


def real_feed_names() -> list[str]:
    return sorted(path.name for path in REAL_DIR.iterdir() if path.is_file())


def hostile_feed_names() -> list[str]:
    return sorted(path.name for path in HOSTILE_DIR.iterdir() if path.is_file())


def manifest_notes() -> dict[str, str]:
    """MANIFEST.tsv's notes column, keyed by "real/<name>" or "hostile/<name>"."""
    with (SHARED_FEEDS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row["notes"] for row in csv.DictReader(handle, delimiter="\t")}
