"""The benchmark suite: every section in turn, tables printed, results in JSON.

A section is a module with ``run(quick) -> dict`` and ``markdown(dict) -> str``. One
section failing (or missing) is reported and the others still run.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import POSTGRES_ENV, machine_info
from bench.pg import admin_url

RESULTS = Path(__file__).resolve().parent / "results.json"
# Follow-set sizes bench.matching times in a --quick run (1M takes minutes to build).
QUICK_MATCHING_SIZES = (10_000, 100_000)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    module: str
    in_quick: bool = True
    needs_postgres: bool = False


SECTIONS = (
    Section("polling", "1. Polling: the real pipeline vs bare aiohttp and feedparser", "bench.polling"),
    Section("unchanged", "1b. Polling unchanged feeds (304) at 5,000 feeds vs bare aiohttp", "bench.unchanged"),
    Section("matching", "2. Matching: follow index vs naive loop", "bench.matching"),
    Section("latest", "3. /latest over stored articles", "bench.latest"),
    Section("delivery", "4. Delivery drain into the Discord emulator", "bench.delivery"),
    Section("e2e", "5. End to end: feed change -> alert (real bot process)", "bench.e2e"),
    Section("scaleout", "6. Scale-out: 1, 2, 4 poll workers on PostgreSQL", "bench.scaleout",
            in_quick=False, needs_postgres=True),
    Section("memory", "7. Resident memory: 5,000 feeds, 100,000 follows, 30 days of items", "bench.memory",
            in_quick=False),
    Section("grouping", "Extra: story grouping quality (bench.grouping)", "bench.grouping",
            in_quick=False),
    Section("suggestions", "Extra: /follow suggestions, a keystroke vs sorting every time", "bench.suggestions"),
    Section("story_sync", "Extra: story sync between workers, its cost beside grouping", "bench.story_sync",
            in_quick=False),
    Section("poll_reads", "Extra: a poll's reads vs the same SQL built per call", "bench.poll_reads",
            in_quick=False),
    Section("parsing", "Extra: bench.parsing", "bench.parsing", in_quick=False),
    Section("fetching", "Extra: bench.fetching", "bench.fetching", in_quick=False),
)  # fmt: skip


@contextlib.contextmanager
def _matching_sizes(module: ModuleType, quick: bool) -> Iterator[None]:
    """In a quick run, time the smaller follow sets only (bench.matching reads SIZES)."""
    if not quick or not hasattr(module, "SIZES"):
        yield
        return
    saved = getattr(module, "SIZES")  # noqa: B009 - a module attribute mypy cannot see
    setattr(module, "SIZES", tuple(s for s in saved if s in QUICK_MATCHING_SIZES) or saved)  # noqa: B010
    try:
        yield
    finally:
        setattr(module, "SIZES", saved)  # noqa: B010


def _runner(module: ModuleType, quick: bool) -> Callable[[], dict[str, Any]] | None:
    """How to call the module's run(): with ``quick`` when it takes it, bare when it
    takes nothing; None when it needs other arguments (not a suite section)."""
    run = getattr(module, "run", None)
    if run is None:
        return None
    parameters = inspect.signature(run).parameters
    if "quick" in parameters:
        return lambda: run(quick)  # type: ignore[no-any-return]
    required = [p for p in parameters.values() if p.default is p.empty and p.kind is not p.VAR_KEYWORD]
    return None if required else run


def _render(module: ModuleType, result: dict[str, Any]) -> str:
    for name in ("markdown", "render"):
        render = getattr(module, name, None)
        if callable(render):
            return str(render(result))
    return "```\n" + json.dumps(result, indent=2, default=str)[:4000] + "\n```"


def run_section(section: Section, quick: bool, *, chosen: bool = False) -> dict[str, Any]:
    """Run one section; ``chosen`` (named with --only) runs it even if not in --quick."""
    if quick and not section.in_quick and not chosen:
        return {"skipped": "not part of a --quick run (name it with --only to run it)"}
    if section.needs_postgres and not admin_url():
        return {"skipped": f"{POSTGRES_ENV} is not set"}
    try:
        module = importlib.import_module(section.module)
    except Exception as exc:
        return {"skipped": f"{section.module} could not be imported: {exc!r}"}
    runner = _runner(module, quick)
    if runner is None:
        return {"skipped": f"{section.module} has no run(quick) -> dict to call"}
    started = time.perf_counter()
    try:
        with _matching_sizes(module, quick) if section.key == "matching" else _nothing():
            result = runner()
        rendered = _render(module, result)
    except Exception as exc:
        return {
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "result": result,
        "markdown": rendered,
    }


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def run_suite(quick: bool, only: set[str] | None, output: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine_info(),
        "postgres": bool(admin_url()),
        "sections": {},
    }
    machine = report["machine"]
    print(
        f"# Storywatch benchmarks ({'quick' if quick else 'full'} run, {report['started']})\n\n"
        f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, "
        f"{machine['memory_gb']} GB, Python {machine['python']}, {machine['platform']}. "
        f"PostgreSQL: {'yes' if report['postgres'] else 'no (' + POSTGRES_ENV + ' not set)'}.",
        flush=True,
    )
    started = time.perf_counter()
    for section in SECTIONS:
        if only is not None and section.key not in only:
            continue
        print(f"\n## {section.title}\n", flush=True)
        outcome = run_section(section, quick, chosen=only is not None)
        report["sections"][section.key] = outcome
        if "skipped" in outcome:
            print(f"Skipped: {outcome['skipped']}.", flush=True)
        elif "error" in outcome:
            print(f"FAILED after {outcome['seconds']} s: {outcome['error']}\n", flush=True)
            print("```\n" + outcome["traceback"] + "```", flush=True)
        else:
            print(f"\n{outcome['markdown']}\n\n({outcome['seconds']} s)", flush=True)
        _write(report, output)  # after every section, so a long run leaves partial results
    report["seconds"] = round(time.perf_counter() - started, 1)
    _write(report, output)
    print(f"\nTotal: {report['seconds']} s. Results: {output}", flush=True)
    return report


def _write(report: dict[str, Any], output: Path) -> None:
    output.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
