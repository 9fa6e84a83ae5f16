"""Turn a parsed query into a full-text PREFILTER for each backend.

The prefilter must find a superset of what the exact matcher accepts: a phrase
becomes its words (AND), a word also matches as a prefix only where the tokenizer
keeps plural-possessive alternates, and exclusions are left to the exact matcher.
Everything it returns is verified in Python with ``bot.query.matcher.matches``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.query.model import Phrase, Prefix, Query, Term, Word


def _words(term: Term) -> list[tuple[str, bool]]:
    """(token, is_prefix) pairs that must all be present for ``term`` to match."""
    if isinstance(term, Word):
        return [(term.text, False)]
    if isinstance(term, Phrase):
        return [(w, False) for w in term.words]
    if isinstance(term, Prefix):
        return [(term.stem, True)]
    raise TypeError(term)


def _safe(token: str) -> str:
    # Tokens are normalized words (letters and digits); quotes are doubled anyway.
    return token.replace('"', '""')


def fts5_expression(queries: Iterable[Query]) -> str | None:
    """An FTS5 MATCH expression: any query (OR) of all its groups (AND) of alternatives (OR)."""
    alternatives = []
    for query in queries:
        groups = []
        for group in query.all_of:
            options = []
            for term in group:
                parts = [f'"{_safe(w)}"' + ("*" if prefix else "") for w, prefix in _words(term)]
                options.append(parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")")
            groups.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
        if groups:
            alternatives.append("(" + " AND ".join(groups) + ")")
    return " OR ".join(alternatives) if alternatives else None


def _pg_token(token: str, prefix: bool) -> str:
    # to_tsquery syntax: quote as a lexeme, :* for a prefix.
    escaped = token.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'" + (":*" if prefix else "")


def tsquery_expression(queries: Iterable[Query]) -> str | None:
    """The same prefilter in PostgreSQL's to_tsquery('simple', ...) syntax."""
    alternatives = []
    for query in queries:
        groups = []
        for group in query.all_of:
            options = []
            for term in group:
                parts = [_pg_token(w, prefix) for w, prefix in _words(term)]
                options.append(parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")")
            groups.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
        if groups:
            alternatives.append("(" + " & ".join(groups) + ")")
    return " | ".join(alternatives) if alternatives else None
