"""Distinctive names (people, places, works, organizations) from the original casing.

A name is a run of capitalized words ("Kanye West", "HBO", "Bank of America"); runs
never cross a sentence or clause break. Casing is only evidence in sentence-cased
text, so:

- a single capitalized word that opens a sentence ("Death toll rises...") is kept
  only if the other text (title vs summary) or a non-initial position confirms it;
- a Title Cased headline ("Kim Kardashian Blogs for First Time Since Marrying Kanye
  West") contributes only the words its summary also capitalizes.

With no summary there is nothing to confirm against, and a Title Cased headline's
runs are kept as they are, junk included ("kim kardashian blogs"). Junk is the safe
failure here: names are used to (a) discount shared names from the "event words" two
articles must share, where only names present in BOTH count, and (b) veto pairs
whose names are disjoint, which extra names make rarer, never more frequent.

``title_subject`` is the headline's first run, confirmed or not ("Beyonce wins...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.stories.stopwords import ENGLISH_STOPWORDS, STOPWORDS
from bot.stories.text import fold, words

# Sentence/clause boundaries: a capital right after these is positional.
_SENTENCE_BREAK = re.compile(r"[.!?:;|\u2014\u2013]\s+|\s[-\u2013\u2014]\s|^\s*|[\"(\[]")
_RAW_WORD = re.compile(r"[^\W_][\w'\u2019.&-]*")
# Lowercase words allowed inside a name ("Bank of America", "Vincent van Gogh").
_NAME_JOINERS = frozenset({"of", "de", "la", "le", "van", "von", "der", "del", "da", "di", "du"})
# Capitalized words that do not start or end a name.
_NOT_NAMES = STOPWORDS


@dataclass(frozen=True, slots=True)
class _Run:
    words: tuple[str, ...]  # raw words as written
    at_start: bool  # the first word opens a sentence or clause


def _is_capitalized(raw: str) -> bool:
    return raw[:1].isupper()


def _runs(text: str) -> list[_Run]:
    runs: list[_Run] = []
    starts = {m.end() for m in _SENTENCE_BREAK.finditer(text)}
    current: list[str] = []
    current_at_start = False
    joiner: str | None = None

    def close() -> None:
        nonlocal current, joiner
        if current:
            runs.append(_Run(tuple(current), current_at_start))
        current = []
        joiner = None

    for match in _RAW_WORD.finditer(text):
        raw = match.group().rstrip(".-'\u2019")
        if not raw:
            continue
        at_start = match.start() in starts
        if _is_capitalized(raw):
            if at_start:
                close()
            elif joiner is not None and current:
                current.append(joiner)
            joiner = None
            if not current:
                current_at_start = at_start
            current.append(raw)
            if text[match.end() : match.end() + 1] in (",", ";"):
                close()
        elif current and joiner is None and fold(raw) in _NAME_JOINERS:
            joiner = raw
        else:
            close()
    close()
    return runs


@lru_cache(maxsize=1 << 12)  # the same names recur across a feed and across feeds
def _normalize(raw_words: tuple[str, ...]) -> str | None:
    """Folded name, trimmed of leading/trailing stopwords; None if nothing is left."""
    parts = [" ".join(words(w)) for w in raw_words]
    while parts and (not parts[0] or parts[0] in _NOT_NAMES):
        parts.pop(0)
    while parts and (not parts[-1] or parts[-1] in _NOT_NAMES):
        parts.pop()
    name = " ".join(parts)
    if len(name) < 2 or name[0].isdigit():
        return None
    return name


def _capitalized_words(text: str) -> set[str]:
    return {fold(w) for w in re.findall(r"[^\W\d_][\w'\u2019]*", text) if _is_capitalized(w)}


def _noninitial_capitalized(runs: list[_Run]) -> set[str]:
    out: set[str] = set()
    for run in runs:
        body = run.words[1:] if run.at_start else run.words
        out.update(fold(w) for w in body)
    return out


def is_title_cased(text: str) -> bool:
    """True when (almost) no content word is lowercase, so casing carries no signal.

    Counting lowercase words rather than capitalized ones keeps name-heavy
    sentence-case headlines ("Beyonce, Jay-Z to perform at Kim's wedding") trusted.
    """
    raw_words = [w for w in re.findall(r"[^\W\d_][\w']*", text) if len(w) > 3]
    # Function words vary between title-case styles ("for" vs "For"); skip them.
    content = [w for w in raw_words if fold(w) not in ENGLISH_STOPWORDS]
    if len(content) < 3:
        return False
    lowercase = sum(1 for w in content if not _is_capitalized(w))
    return lowercase / len(content) < 0.2


def _confirmed_parts(raw_words: tuple[str, ...], confirmed: set[str]) -> list[tuple[str, ...]]:
    """Maximal sub-runs whose words are all in ``confirmed``."""
    parts: list[tuple[str, ...]] = []
    current: list[str] = []
    for raw in raw_words:
        if fold(raw) in confirmed or (current and fold(raw) in _NAME_JOINERS):
            current.append(raw)
            continue
        if current:
            parts.append(tuple(current))
        current = []
    if current:
        parts.append(tuple(current))
    return parts


def distinctive_names(title: str, summary: str) -> list[str]:
    """Folded names from title then summary, deduplicated (see module docstring)."""
    return _distinctive(title, _runs(title), summary)


def names_and_subject(title: str, summary: str) -> tuple[list[str], str | None]:
    """``distinctive_names`` and ``title_subject`` of one article, the title read once."""
    title_runs = _runs(title)
    return _distinctive(title, title_runs, summary), _subject(title_runs)


def _distinctive(title: str, title_runs: list[_Run], summary: str) -> list[str]:
    summary_runs = _runs(summary)
    title_caps = _capitalized_words(title)
    summary_caps = _capitalized_words(summary)
    summary_noninitial = _noninitial_capitalized(summary_runs)
    title_noninitial = _noninitial_capitalized(title_runs)
    kept: list[tuple[str, ...]] = []
    if is_title_cased(title) and summary.strip():
        for run in title_runs:
            kept.extend(_confirmed_parts(run.words, summary_caps))
    else:
        for run in title_runs:
            single_opener = run.at_start and len(run.words) == 1
            if single_opener and fold(run.words[0]) not in summary_caps:
                continue  # "Death toll rises..." - still the title's subject, see below
            kept.append(run.words)
    for run in summary_runs:
        if run.at_start and len(run.words) == 1:
            word = fold(run.words[0])
            if word not in title_caps and word not in summary_noninitial | title_noninitial:
                continue
        kept.append(run.words)
    names = (_normalize(raw) for raw in kept)
    return list(dict.fromkeys(name for name in names if name is not None))


def title_subject(title: str) -> str | None:
    """The headline's first name-like run, trusted or not ("Beyonce", "Kim Kardashian").

    Headlines lead with who or what the story is about, so two headlines whose subjects
    never occur in each other are about different things. An unconfirmed opener such
    as "Death" may be junk; it then only makes such conflicts rarer.
    """
    return _subject(_runs(title))


def _subject(title_runs: list[_Run]) -> str | None:
    for run in title_runs:
        name = _normalize(run.words)
        if name is not None:
            return name
    return None
