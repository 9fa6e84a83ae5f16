"""The one parser for follow queries (used by /follow, /unfollow and /latest).

Syntax: words are ANDed; ``"two words"`` is a phrase; ``a OR b`` / ``a|b`` is either
(OR binds tighter than the implicit AND); ``-word`` / ``-"a phrase"`` excludes;
``stem*`` is any word starting with ``stem``. Words are normalized as in
:mod:`bot.query.text`, so ``jay-z`` is the phrase ``"jay z"`` and punctuation on its
own is ignored. Errors are :class:`bot.errors.QueryError` with a short user-facing
message that names the offending part of the input.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum

from bot.errors import QueryError
from bot.query.model import Phrase, Prefix, Query, Term, Word, render_group
from bot.query.text import tokenize

_QUOTES = frozenset('"\u201c\u201d\u201e\u201f')
_OR_BAR = "|"
_MIN_PREFIX = 3
_FRAGMENT_CHARS = 60  # longer fragments are cut so the error message stays short
_NO_EXCLUDED_OR = "An exclusion can't be part of an OR: {}"


class _Kind(Enum):
    TERM = "term"
    EXCLUDED = "excluded"
    OR = "or"


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: _Kind
    start: int  # span in the input, for error fragments
    end: int
    term: Term | None = None


def _clip(fragment: str) -> str:
    fragment = fragment.strip()
    if len(fragment) <= _FRAGMENT_CHARS:
        return fragment
    return fragment[: _FRAGMENT_CHARS - 1] + "…"


def _fail(template: str, fragment: str) -> QueryError:
    """A QueryError whose message is ``template`` with ``{}`` replaced by the fragment."""
    clipped = _clip(fragment)
    return QueryError(template.replace("{}", clipped, 1), clipped)


def _words_term(words: list[str]) -> Term | None:
    if not words:
        return None
    # interned: many follows share words, and the index keeps them all in memory
    if len(words) == 1:
        return Word(sys.intern(words[0]))
    return Phrase(tuple(map(sys.intern, words)))


def _chunk_term(chunk: str) -> Term | None:
    """The term for one unquoted chunk, or None when it holds no word (punctuation)."""
    if "*" not in chunk:
        return _words_term(tokenize(chunk))
    if not chunk.endswith("*") or "*" in chunk[:-1]:
        raise _fail("* only goes once, at the end of a word: {}", chunk)
    stem_words = tokenize(chunk[:-1])
    if len(stem_words) > 1:
        raise _fail("* can only end a single word: {}", chunk)
    if not stem_words or len(stem_words[0]) < _MIN_PREFIX:
        raise _fail(f"Put at least {_MIN_PREFIX} letters or digits before * in {{}}", chunk)
    return Prefix(sys.intern(stem_words[0]))


def _lex(text: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == _OR_BAR:
            lexemes.append(_Lexeme(_Kind.OR, i, i + 1))
            i += 1
            continue
        start = i
        excluded = char == "-"
        if excluded:
            i += 1
            if i == end or text[i].isspace() or text[i] == _OR_BAR:
                raise _fail("A lone {} excludes nothing; write it before a word: -kylie", "-")
            char = text[i]
        term: Term | None
        if char in _QUOTES:
            close = next((j for j in range(i + 1, end) if text[j] in _QUOTES), None)
            if close is None:
                raise _fail("Unbalanced quote in {}", text[i:])
            inside = text[i + 1 : close]
            i = close + 1
            if "*" in inside:
                raise _fail("* can't be used inside a phrase: {}", text[start:i])
            term = _words_term(tokenize(inside))
        else:
            j = i
            while j < end and not (text[j].isspace() or text[j] in _QUOTES or text[j] == _OR_BAR):
                j += 1
            chunk = text[i:j]
            i = j
            if chunk == "OR" and not excluded:
                lexemes.append(_Lexeme(_Kind.OR, start, i))
                continue
            term = _chunk_term(chunk)
        if term is None:
            if excluded:
                raise _fail("Nothing to exclude in {}", text[start:i])
            continue  # punctuation or emoji on its own separates words, like a space
        lexemes.append(_Lexeme(_Kind.EXCLUDED if excluded else _Kind.TERM, start, i, term))
    return lexemes


def _group(text: str, lexemes: list[_Lexeme]) -> tuple[list[list[_Lexeme]], list[_Lexeme]]:
    """Fold the lexemes into OR-groups (each a list) and exclusions, checking OR use."""
    groups: list[list[_Lexeme]] = []
    excluded: list[_Lexeme] = []
    previous: _Lexeme | None = None
    for index, lexeme in enumerate(lexemes):
        following = lexemes[index + 1] if index + 1 < len(lexemes) else None
        if lexeme.kind is _Kind.OR:
            if previous is None:
                near = text[lexeme.start : following.end if following else lexeme.end]
                raise _fail("OR needs a word before it: {}", near)
            if previous.kind is _Kind.OR:
                raise _fail("Two ORs in a row: {}", text[previous.start : lexeme.end])
            if previous.kind is _Kind.EXCLUDED:
                raise _fail(_NO_EXCLUDED_OR, text[previous.start : lexeme.end])
        elif lexeme.kind is _Kind.EXCLUDED:
            if previous is not None and previous.kind is _Kind.OR:
                raise _fail(_NO_EXCLUDED_OR, text[previous.start : lexeme.end])
            excluded.append(lexeme)
        elif previous is not None and previous.kind is _Kind.OR:
            groups[-1].append(lexeme)
        else:
            groups.append([lexeme])
        previous = lexeme
    if previous is not None and previous.kind is _Kind.OR:
        before = lexemes[-2].start if len(lexemes) > 1 else previous.start
        raise _fail("OR needs a word after it: {}", text[before : previous.end])
    return groups, excluded


def _terms(lexemes: list[_Lexeme]) -> list[Term]:
    return [lexeme.term for lexeme in lexemes if lexeme.term is not None]


def _canonical_groups(groups: list[list[_Lexeme]]) -> list[tuple[Term, ...]]:
    """Dedupe and sort alternatives and groups; drop a group implied by a smaller one."""
    unique = {tuple(sorted(set(_terms(group)), key=str)) for group in groups}
    as_sets = {group: frozenset(group) for group in unique}
    # A AND (A OR B) is A: the larger group can never be the one that fails
    kept = [
        group for group in unique if not any(other is not group and as_sets[other] < as_sets[group] for other in unique)
    ]
    return sorted(kept, key=render_group)


def parse_query(text: str, *, max_chars: int = 200, max_terms: int = 10) -> Query:
    """Parse and normalize a follow query; raise QueryError when it is unusable."""
    if len(text) > max_chars:
        raise _fail(
            f"The query is too long ({len(text)} characters, the limit is {max_chars}); over the limit: {{}}",
            text[max_chars:],
        )
    lexemes = _lex(text)
    if not lexemes:
        if text.strip():
            raise _fail("The query has no words to look for: {}", text)
        raise QueryError("The query is empty", "")
    groups, excluded = _group(text, lexemes)
    counted = [lexeme for lexeme in lexemes if lexeme.kind is not _Kind.OR]
    if len(counted) > max_terms:
        raise _fail(
            f"Too many terms ({len(counted)}, the limit is {max_terms}; a phrase, each OR "
            "choice and each exclusion count as one); over the limit: {}",
            text[counted[max_terms].start :],
        )
    if not groups:
        raise _fail(
            "Add a word to look for; a query can't only exclude: {}",
            text[excluded[0].start : excluded[-1].end],
        )
    all_of = _canonical_groups(groups)
    none_of = sorted(set(_terms(excluded)), key=str)
    required = {group[0] for group in all_of if len(group) == 1}
    for lexeme in excluded:
        if lexeme.term in required:
            raise _fail("The query requires what {} excludes", text[lexeme.start : lexeme.end])
    normalized = " ".join([render_group(group) for group in all_of] + [f"-{t}" for t in none_of])
    return Query(all_of=tuple(all_of), none_of=tuple(none_of), normalized=normalized)
