"""What the emulator saw: every REST request with its answer, counters, and change wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedFile:
    field: str
    filename: str
    content_type: str
    size: int


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to the API base, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any  # parsed JSON body, or payload_json of a multipart body
    headers: dict[str, str]  # minus Authorization
    status: int
    time: float  # time.monotonic() when the answer was sent
    files: list[RecordedFile] = field(default_factory=list)
    route: str | None = None  # route template, None when no route matched
    response: Any = None  # JSON answer (None for 204 / non-JSON)
    response_headers: dict[str, str] = field(default_factory=dict)


def thread_names(requests: Iterable[RecordedRequest]) -> list[str]:
    """The names the bot gave the threads it started, in order."""
    return [str(r.json["name"]) for r in requests if r.method == "POST" and r.path.endswith("/threads")]


@dataclass
class Stats:
    requests: int = 0
    rate_limited: int = 0  # 429s produced by the emulated rate limiter
    rate_limited_global: int = 0
    injected_failures: int = 0
    nonce_deduplicated: int = 0
    identifies: int = 0
    resumes: int = 0
    status_counts: Counter[int] = field(default_factory=Counter)


class ChangeNotifier:
    """Wakes waiters whenever emulator state may have changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str = "condition",
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            event = self._event
            # The periodic wake also covers changes made without a notify.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(remaining, 0.05))


def find_request(
    requests: list[RecordedRequest], method: str, path_regex: str, since: int = 0
) -> RecordedRequest | None:
    pattern = re.compile(path_regex)
    for recorded in requests[since:]:
        if method.upper() in ("*", recorded.method) and pattern.search(recorded.path):
            return recorded
    return None
