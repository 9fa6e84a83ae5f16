"""What a parsed follow query is: AND of OR-groups of terms, minus excluded terms.

Build these with :func:`bot.query.parser.parse_query`; it normalizes and orders the
parts so that equal queries are equal objects with the same ``normalized`` string.
Every word held here is already normalized (see :mod:`bot.query.text`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One whole word."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more words, adjacent and in this order, within one field of the article."""

    words: tuple[str, ...]

    def __str__(self) -> str:
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True, slots=True)
class Prefix:
    """Any word starting with ``stem`` (written ``stem*``)."""

    stem: str

    def __str__(self) -> str:
        return self.stem + "*"


Term = Word | Phrase | Prefix


def render_group(group: tuple[Term, ...]) -> str:
    """An OR-group as the user would type it: ``kanye OR ye``."""
    return " OR ".join(str(term) for term in group)


@dataclass(frozen=True, slots=True)
class Query:
    """Every group in ``all_of`` must match (any one term of it); no term of ``none_of`` may.

    ``normalized`` is the canonical text of the query: it parses back to an equal
    ``Query`` and is what follows are stored and deduplicated by.
    """

    all_of: tuple[tuple[Term, ...], ...]  # each inner tuple is an OR-group
    none_of: tuple[Term, ...]
    normalized: str

    def search_string(self) -> str:
        """The positive terms for a news search engine (not URL-encoded).

        Phrases stay quoted, OR-groups are joined with `` OR ``, a prefix becomes its
        stem (search engines do their own stemming) and exclusions are left out.
        """
        parts = []
        for group in self.all_of:
            alternatives = (term.stem if isinstance(term, Prefix) else str(term) for term in group)
            parts.append(" OR ".join(alternatives))
        return " ".join(parts)
