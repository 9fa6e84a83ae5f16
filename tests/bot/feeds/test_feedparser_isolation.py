"""bot/feeds/parser.py is the only project module that imports feedparser."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.bot.feeds.corpus import REPO

ADAPTER = Path("bot/feeds/parser.py")
PROJECT_PACKAGES = ("bot", "cogs", "db")


def _imports_feedparser(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "feedparser" or name.startswith("feedparser.") for name in names):
            return True
    return False


def test_only_the_adapter_imports_feedparser() -> None:
    sources = [
        path.relative_to(REPO)
        for package in PROJECT_PACKAGES
        if (REPO / package).is_dir()
        for path in sorted((REPO / package).rglob("*.py"))
    ]

    importers = [path for path in sources if _imports_feedparser(REPO / path)]

    assert ADAPTER in sources
    assert importers == [ADAPTER]
