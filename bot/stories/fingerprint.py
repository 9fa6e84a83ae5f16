"""What the grouper knows about one article: its story fingerprint.

The fingerprint keeps the normalized content-token SETS themselves (title tokens and
up to ``MAX_BODY_TOKENS`` summary tokens) rather than a MinHash or SimHash signature:
headlines and ledes hold 5-50 content tokens, so exact Jaccard costs a small set
intersection and is exact, where a 64-permutation MinHash has a standard error of
about 0.06 at J=0.3 - the size of the margins between our thresholds - and takes more
space than the tokens it summarizes. SimHash targets near-identical long documents,
while rewrites of a story by two outlets typically share only 20-40% of their words.
Candidate lookup uses an inverted index over these tokens (see ``index.py``), which,
unlike LSH banding, has no false negatives.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.stories.links import canonical_link
from bot.stories.names import names_and_subject
from bot.stories.text import content_tokens, stem

# Feeds put anything from a one-line dek to the full article in <description>; the
# lede carries the story's identity and later paragraphs add unrelated detail. The
# character caps also bound the work spent on a hostile or huge feed item.
MAX_BODY_TOKENS = 40
MAX_TITLE_TOKENS = 30
MAX_TITLE_CHARS = 400
MAX_SUMMARY_CHARS = 1500
MAX_NAMES = 12
_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class StoryFingerprint:
    """Normalized, comparable summary of one article (immutable, JSON-serializable).

    ``title_tokens``/``body_tokens``: stemmed content tokens, unique, in text order;
    body tokens exclude those already in the title. ``names``: distinctive names,
    folded ("kanye west"). ``subject``: the headline's first name-like run, possibly
    unconfirmed ("beyonce"). ``link``: canonical link or None. ``published``: aware UTC.
    Derived (not serialized; never mutate): token sets, the words of ``names`` and
    ``subject`` in token space (``name_tokens``, ``subject_tokens``), their union with
    the tokens (``all_words``), and ``given_names``: stemmed surname -> the stemmed
    words just before it in multi-word names ("kim kardashian" -> kardashian: {kim}).
    """

    title_tokens: tuple[str, ...]
    body_tokens: tuple[str, ...]
    names: tuple[str, ...]
    subject: str | None
    link: str | None
    published: datetime
    tokens: frozenset[str] = field(init=False, repr=False, compare=False)
    title_token_set: frozenset[str] = field(init=False, repr=False, compare=False)
    name_tokens: frozenset[str] = field(init=False, repr=False, compare=False)
    subject_tokens: frozenset[str] = field(init=False, repr=False, compare=False)
    all_words: frozenset[str] = field(init=False, repr=False, compare=False)
    given_names: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.published.tzinfo is None:
            raise ValueError("StoryFingerprint.published must be timezone-aware")
        object.__setattr__(self, "published", self.published.astimezone(UTC))
        # Interned: thousands of open stories hold the same few thousand words ("kardashian"),
        # and each fingerprint arriving from the parse pool or the database brings its own copies.
        object.__setattr__(self, "title_tokens", tuple(map(sys.intern, self.title_tokens)))
        object.__setattr__(self, "body_tokens", tuple(map(sys.intern, self.body_tokens)))
        object.__setattr__(self, "tokens", frozenset(self.title_tokens + self.body_tokens))
        object.__setattr__(self, "title_token_set", frozenset(self.title_tokens))
        # Name words in token space (stemmed), so they can be subtracted from overlaps.
        strong = _name_words(self.names)
        subject = _name_words((self.subject,) if self.subject else ())
        object.__setattr__(self, "subject_tokens", subject)
        object.__setattr__(self, "name_tokens", strong)
        object.__setattr__(self, "all_words", self.tokens | strong | subject)
        object.__setattr__(self, "given_names", _given_names(self.names))

    def __reduce__(self) -> tuple[type[StoryFingerprint], tuple[Any, ...]]:
        # Pickled as its fields alone: the derived sets are rebuilt (and the words interned)
        # on arrival from the parse pool instead of travelling as copies.
        fields = (self.title_tokens, self.body_tokens, self.names, self.subject, self.link, self.published)
        return (StoryFingerprint, fields)

    @property
    def has_summary(self) -> bool:
        return bool(self.body_tokens)

    def to_json(self) -> str:
        """Compact JSON for a DB column (typically 200-700 bytes)."""
        payload: dict[str, Any] = {
            "v": _FORMAT_VERSION,
            "t": list(self.title_tokens),
            "b": list(self.body_tokens),
            "n": list(self.names),
            "s": self.subject,
            "l": self.link,
            "p": self.published.isoformat(),
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> StoryFingerprint:
        """Inverse of ``to_json``; raises ValueError on anything malformed."""
        try:
            payload = json.loads(data)
            if not isinstance(payload, dict) or payload.get("v") != _FORMAT_VERSION:
                raise ValueError("unknown fingerprint format")
            link = _optional_str(payload["l"])
            return cls(
                title_tokens=_str_tuple(payload["t"]),
                body_tokens=_str_tuple(payload["b"]),
                names=_str_tuple(payload["n"]),
                subject=_optional_str(payload["s"]),
                link=link,
                published=datetime.fromisoformat(payload["p"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed story fingerprint: {exc}") from exc


def _name_words(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(stem(w) for name in names for w in name.split() if len(w) > 1)


def _given_names(names: tuple[str, ...]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for name in names:
        parts = name.split()
        if len(parts) >= 2:
            out.setdefault(stem(parts[-1]), set()).add(stem(parts[-2]))
    return {surname: frozenset(firsts) for surname, firsts in out.items()}


def _optional_str(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a string or null")
    return value


def _str_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(value)


def _strip_truncation(title: str) -> str:
    # Aggregators cut long titles with "..."; the cut word is often partial.
    stripped = title.rstrip()
    if stripped.endswith(("...", "\u2026")):
        stripped = stripped.rstrip(".\u2026 ")
        head, _, _tail = stripped.rpartition(" ")
        return head or stripped
    return title


def fingerprint(title: str, summary: str, link: str | None, published: datetime) -> StoryFingerprint:
    """Build the fingerprint of one article. ``published`` must be timezone-aware."""
    title = _strip_truncation(title[:MAX_TITLE_CHARS])
    summary = summary[:MAX_SUMMARY_CHARS]
    title_tokens = list(dict.fromkeys(content_tokens(title)))[:MAX_TITLE_TOKENS]
    seen = set(title_tokens)
    body: list[str] = []
    for token in content_tokens(summary):
        if token not in seen:
            seen.add(token)
            body.append(token)
            if len(body) >= MAX_BODY_TOKENS:
                break
    names, subject = names_and_subject(title, summary)
    return StoryFingerprint(
        title_tokens=tuple(title_tokens),
        body_tokens=tuple(body),
        names=tuple(names[:MAX_NAMES]),
        subject=subject,
        link=canonical_link(link),
        published=published,
    )
