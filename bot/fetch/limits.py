"""The knobs of the HTTP fetcher, fixed at startup."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds every feed fetch obeys.

    ``total_timeout`` bounds the network time of one whole fetch, redirects included
    (time spent queued for a politeness slot does not count). Sizes are in bytes and
    count the body after Content-Encoding is undone.
    """

    connect_timeout: float = 30.0
    total_timeout: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host_concurrency: int = 2
    global_concurrency: int = 50
    user_agent: str = "Storywatch/0.1 (+https://github.com/storywatch/storywatch)"

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0 or self.total_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        if self.per_host_concurrency < 1 or self.global_concurrency < 1:
            raise ValueError("concurrency limits must be at least 1")
