"""Shared pieces of the benchmark suite: data paths, machine facts, meters, tables."""

from __future__ import annotations

import csv
import gc
import gzip
import math
import os
import platform
import resource
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil  # type: ignore[import-untyped]
from aiohttp.abc import AbstractResolver, ResolveResult

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
HEADLINES_TSV = SHARED / "stories" / "uci-entertainment-2014-05-01_2014-06-14.tsv"
ALL_CATEGORIES_TSV = SHARED / "stories" / "uci-all-categories-2014-05-20_2014-05-31.tsv.gz"
POSTGRES_ENV = "STORYWATCH_TEST_POSTGRES_URL"
# Every feed URL of the benchmarks is on a host of this domain, resolved to 127.0.0.1.
BENCH_DOMAIN = ".bench.test"


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    url: str
    publisher: str
    hostname: str
    timestamp_ms: int
    category: str = ""  # b business, t science and technology, e entertainment, m health
    story: str = ""  # the UCI story cluster


def load_headlines(path: Path = HEADLINES_TSV) -> list[Headline]:
    """UCI headlines (default: entertainment), in file order, so every run sees the same."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Headline(
                title=row["TITLE"],
                url=row["URL"],
                publisher=row["PUBLISHER"],
                hostname=row["HOSTNAME"],
                timestamp_ms=int(row["TIMESTAMP"]),
                category=row["CATEGORY"],
                story=row["STORY"],
            )
            for row in reader
        ]


def machine_info() -> dict[str, object]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _tree(exclude: set[int]) -> list[psutil.Process]:
    """This process and its live descendants, minus the excluded ones (servers)."""
    me = psutil.Process()
    found = [me]
    for child in me.children(recursive=True):
        if child.pid not in exclude:
            found.append(child)
    return found


class CpuMeter:
    """CPU seconds (user + system) of this process and its children, servers excluded.

    getrusage(RUSAGE_CHILDREN) only counts children that have exited, and the parse
    pool's workers live on, so live descendants are read with psutil and added.
    """

    def __init__(self, exclude: Iterable[int] = ()) -> None:
        self.exclude = set(exclude)

    @staticmethod
    def own() -> float:
        """CPU seconds of this process alone (the event loop's, without the parse pool)."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        return float(own.ru_utime + own.ru_stime)

    def total(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        gone = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = own.ru_utime + own.ru_stime + gone.ru_utime + gone.ru_stime
        for proc in _tree(self.exclude)[1:]:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            seconds += times.user + times.system
        return float(seconds)


class PeakRss:
    """Samples the summed RSS of this process and its children (servers excluded).

    The process tree is listed again at most every ``tree_every`` seconds: listing it
    reads every process's /proc entry, and doing that 20 times a second held the GIL for
    2% of a bench.polling run's GIL samples (py-spy --gil), time taken from the pipeline."""

    def __init__(self, exclude: Iterable[int] = (), interval: float = 0.05, tree_every: float = 1.0) -> None:
        self.exclude = set(exclude)
        self.interval = interval
        self.tree_every = tree_every
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._procs: list[psutil.Process] = []
        self._listed_at = -math.inf

    def sample(self) -> int:
        if time.monotonic() - self._listed_at >= self.tree_every:
            self._procs = _tree(self.exclude)
            self._listed_at = time.monotonic()
        total = 0
        for proc in self._procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, total)
        return total

    def reset(self) -> None:
        self.peak = 0
        self._listed_at = -math.inf  # a phase may start or end processes
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Self:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.sample()


class GcClock:
    """Wall seconds this process spent in the garbage collector, from ``gc.callbacks``
    (a collection holds the GIL, so this is time the event loop could not run)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> Self:
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    own_cpu_seconds: float = 0.0  # this process alone: ``cpu_seconds`` less the parse pool
    gc_seconds: float = 0.0  # of this process, when the stopwatch was given a GcClock


class Stopwatch:
    """Wall time, CPU seconds and peak RSS of one measured step."""

    def __init__(self, cpu: CpuMeter, rss: PeakRss, gc_clock: GcClock | None = None) -> None:
        self.cpu = cpu
        self.rss = rss
        self.gc_clock = gc_clock
        self.result: Measured | None = None
        self._started = 0.0
        self._cpu_started = 0.0
        self._own_started = 0.0
        self._gc_started = 0.0

    def __enter__(self) -> Self:
        self.rss.reset()
        self._cpu_started = self.cpu.total()
        self._own_started = self.cpu.own()
        self._gc_started = self.gc_clock.seconds if self.gc_clock else 0.0
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        seconds = time.perf_counter() - self._started
        cpu = self.cpu.total() - self._cpu_started
        own = self.cpu.own() - self._own_started
        collecting = self.gc_clock.seconds - self._gc_started if self.gc_clock else 0.0
        self.rss.sample()
        self.result = Measured(seconds, cpu, self.rss.peak / 2**20, own, collecting)

    @property
    def measured(self) -> Measured:
        if self.result is None:
            raise RuntimeError("the stopwatch has not stopped")
        return self.result


class LoopbackResolver(AbstractResolver):
    """Every ``*.bench.test`` host is 127.0.0.1; any other name does not resolve.

    Each feed gets its own host name, as with many publishers (no shared keep-alive
    connection, no per-host politeness queue), and nothing can leave the machine.
    """

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not host.endswith(BENCH_DOMAIN):
            raise OSError(f"{host} is not a benchmark host")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def feed_url(port: int, index: int) -> str:
    return f"http://feed{index}{BENCH_DOMAIN}:{port}/feed/{index}"


def bench_settings_toml(database_url: str, *, extra: str = "") -> str:
    """A config for the benchmarks: no search feeds, warnings only."""
    return (
        f'[database]\nurl = "{database_url}"\n[search_feeds]\nenabled = false\n[logging]\nlevel = "WARNING"\n' + extra
    )
