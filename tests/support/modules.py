"""Run in a parse pool's process: which of some modules it has imported."""

from __future__ import annotations

import sys


def loaded(names: list[str]) -> list[str]:
    return [name for name in names if name in sys.modules]
