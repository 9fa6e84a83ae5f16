"""An open story: the state that story grouping keeps, saves and merges."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.stories.fingerprint import StoryFingerprint

MAX_REPRESENTATIVES = 6  # the first article + the 5 most recent
MAX_LINKS = 64


@dataclass(frozen=True, slots=True)
class OpenStory:
    """A story still accepting articles; what the DB stores to rebuild the grouper."""

    story_id: str
    representatives: tuple[StoryFingerprint, ...]  # first article first, then recent
    last_seen: datetime  # newest ``published`` among its articles (aware)
    article_count: int
    # Canonical links of its articles: up to MAX_LINKS, most recent first to go except
    # the representatives' links, which are always kept.
    links: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.representatives:
            raise ValueError("an open story needs at least one representative")
        if self.last_seen.tzinfo is None:
            raise ValueError("OpenStory.last_seen must be timezone-aware")

    def to_json(self) -> str:
        payload: dict[str, Any] = {
            "id": self.story_id,
            "reps": [rep.to_json() for rep in self.representatives],
            "last": self.last_seen.isoformat(),
            "count": self.article_count,
            "links": list(self.links),
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str, known: Mapping[str, StoryFingerprint] | None = None) -> OpenStory:
        """Inverse of ``to_json``; raises ValueError on anything malformed. ``known``:
        fingerprints already held, by their JSON, taken as they are instead of parsed."""
        known = known or {}
        try:
            payload = json.loads(data)
            return cls(
                story_id=str(payload["id"]),
                representatives=tuple(known.get(r) or StoryFingerprint.from_json(r) for r in payload["reps"]),
                last_seen=datetime.fromisoformat(payload["last"]),
                article_count=int(payload["count"]),
                links=tuple(str(link) for link in payload["links"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed open story: {exc}") from exc


def capped_links(links: Iterable[str], representatives: Iterable[StoryFingerprint]) -> tuple[str, ...]:
    """A story's links once each, oldest first; over ``MAX_LINKS`` the oldest that no
    representative carries go first (representatives' links must stay findable, or the
    link index would miss what comparing them finds)."""
    unique = list(dict.fromkeys(links))
    excess = len(unique) - MAX_LINKS
    if excess <= 0:
        return tuple(unique)
    keep = {rep.link for rep in representatives if rep.link}
    kept: list[str] = []
    for link in unique:
        if excess > 0 and link not in keep:
            excess -= 1
            continue
        kept.append(link)
    return tuple(kept)
