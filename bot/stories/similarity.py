"""Pairwise story decision: are two fingerprints coverage of the same story?

Rules, in order (``Thresholds``; defaults chosen with ``python -m bench.grouping``):

1. Same canonical link -> same story, always.
2. Name conflict -> different stories, when any of these holds:
   - the headlines' subjects (first name-like run) each occur nowhere in the other
     article ("Taylor Swift wins ..." vs "Beyonce wins ...");
   - both articles have confirmed names and none occurs in the other article;
   - they name different members of one family: same surname, given names the
     other article never mentions ("Kim Kardashian ..." vs "Kourtney Kardashian ...").
3. Title path: Jaccard of the title token sets >= ``title`` (0.5), and the shared
   title tokens include >= ``min_event_tokens`` (1) tokens that are not names of
   both articles - "event" words (divorce, pregnant, fragrance).
4. Summary path, only when both have a summary: Jaccard of title+summary token sets
   >= ``full`` (0.25), the shared tokens include >= ``min_full_event_tokens`` (2)
   event words, and the titles share at least one event word.

Shared names alone never merge: a product launch and a divorce filing by the same
person share exactly the names. ``similarity`` is the larger qualifying Jaccard
(1.0 for a link match) and ranks candidate stories; ``same_story`` decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.stories.fingerprint import StoryFingerprint


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds; defaults are the tuned values (see package docstring)."""

    title: float = 0.5  # min Jaccard of title tokens
    full: float = 0.25  # min Jaccard of title+summary tokens (both must have summaries)
    min_event_tokens: int = 1  # min shared non-name tokens in the titles
    min_full_event_tokens: int = 2  # min shared non-name tokens in title+summary
    name_conflict: bool = True  # disjoint names -> different stories

    # Lower bounds for the index (link matches aside). Every same-story decision shares at
    # least one title word (both rules need an event word in the titles), and then either
    # the title rule holds, so the titles share min_shared_title_tokens, or the summary
    # rule does, so title+summary share min_shared_full_tokens: Jaccard >= t implies
    # |A & B| >= t * |A|.

    def min_shared_title_tokens(self, fp: StoryFingerprint) -> int:
        return max(1, self.min_event_tokens, math.ceil(self.title * len(fp.title_token_set) - 1e-9))

    def min_shared_full_tokens(self, fp: StoryFingerprint) -> int:
        return max(1, self.min_full_event_tokens, math.ceil(self.full * len(fp.tokens) - 1e-9))

    # Size filters for one pair, from the shared count and the two set sizes alone: Jaccard
    # = s / (a + b - s) >= t exactly when s * (1 + t) >= t * (a + b). The epsilon leaves
    # borderline pairs to ``judge``, which decides them with its own arithmetic.

    def title_can_qualify(self, shared: int, size_a: int, size_b: int) -> bool:
        return shared * (1 + self.title) >= self.title * (size_a + size_b) - 1e-9

    def full_can_qualify(self, shared: int, size_a: int, size_b: int) -> bool:
        return shared * (1 + self.full) >= self.full * (size_a + size_b) - 1e-9


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class PairScore:
    """The parts of one comparison, for ranking, debugging and evaluation."""

    link_match: bool
    name_conflict: bool  # only evaluated when a score qualifies (else False)
    title: float  # title Jaccard (0.0 when the event-word rule fails)
    full: float  # title+summary Jaccard (0.0 when not both have summaries, or rule fails)

    @property
    def best(self) -> float:
        return 1.0 if self.link_match else max(self.title, self.full)


def names_conflict(a: StoryFingerprint, b: StoryFingerprint) -> bool:
    """True when the two articles are about different named subjects (see rule 2)."""
    if (
        a.subject_tokens
        and b.subject_tokens
        and a.subject_tokens.isdisjoint(b.all_words)
        and b.subject_tokens.isdisjoint(a.all_words)
    ):
        return True
    if (
        a.name_tokens
        and b.name_tokens
        and a.name_tokens.isdisjoint(b.all_words)
        and b.name_tokens.isdisjoint(a.all_words)
    ):
        return True
    return _different_family_members(a, b)


def _different_family_members(a: StoryFingerprint, b: StoryFingerprint) -> bool:
    """Same surname, different given names that the other article never mentions:
    "Kim Kardashian ..." vs "Kourtney Kardashian ..." are different people."""
    for surname, firsts_a in a.given_names.items():
        firsts_b = b.given_names.get(surname)
        if (
            firsts_b
            and firsts_a.isdisjoint(firsts_b)
            and firsts_a.isdisjoint(b.all_words)
            and firsts_b.isdisjoint(a.all_words)
        ):
            return True
    return False


def _jaccards(a: StoryFingerprint, b: StoryFingerprint, thresholds: Thresholds) -> tuple[float, float]:
    """(title, full) Jaccard scores, each 0.0 where its event-word rule fails."""
    shared_names = a.name_tokens & b.name_tokens
    title_shared = a.title_token_set & b.title_token_set
    title_events = len(title_shared - shared_names)
    title = 0.0
    if title_events >= thresholds.min_event_tokens:
        title = len(title_shared) / len(a.title_token_set | b.title_token_set)
    full = 0.0
    # The summary path still needs an event word in common in the titles: summaries
    # of two stories about the same people share their descriptions ("reality star",
    # "Blink-182 drummer") without sharing the event.
    if a.body_tokens and b.body_tokens and title_events >= 1:
        shared = a.tokens & b.tokens
        if len(shared - shared_names) >= thresholds.min_full_event_tokens:
            full = len(shared) / len(a.tokens | b.tokens)
    return title, full


def score(a: StoryFingerprint, b: StoryFingerprint, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> PairScore:
    """Compute the comparison of ``a`` and ``b`` (symmetric)."""
    if a.link is not None and a.link == b.link:
        return PairScore(link_match=True, name_conflict=False, title=1.0, full=1.0)
    title, full = _jaccards(a, b, thresholds)
    # The conflict check is the costly part; it only matters when a score qualifies.
    qualifies = title >= thresholds.title or full >= thresholds.full
    conflict = qualifies and names_conflict(a, b)
    return PairScore(link_match=False, name_conflict=conflict, title=title, full=full)


def judge(a: StoryFingerprint, b: StoryFingerprint, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[bool, float]:
    """``(decide(pair), pair.best)`` for ``pair = score(a, b)``, without building the
    PairScore: the grouper asks this for every candidate representative."""
    if a.link is not None and a.link == b.link:
        return True, 1.0
    title, full = _jaccards(a, b, thresholds)
    best = max(title, full)
    if not (title >= thresholds.title or full >= thresholds.full):
        return False, best
    return not (thresholds.name_conflict and names_conflict(a, b)), best


def decide(pair: PairScore, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    if pair.link_match:
        return True
    if pair.name_conflict and thresholds.name_conflict:
        return False
    return pair.title >= thresholds.title or pair.full >= thresholds.full


def similarity(a: StoryFingerprint, b: StoryFingerprint, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> float:
    """0..1; 1.0 for a shared canonical link, else the best qualifying Jaccard score."""
    return score(a, b, thresholds).best


def same_story(a: StoryFingerprint, b: StoryFingerprint, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """The decision described in the module docstring."""
    return decide(score(a, b, thresholds), thresholds)
