"""parse_feed over every malformed or hostile document in the shared corpus.

Each document runs in a worker process with a time budget, so a hang fails its own
test instead of the whole run. The outcome is one of: items, an empty (but well-formed)
feed, or FeedParseError. Any other exception fails.
"""

from __future__ import annotations

import gzip
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing.pool import Pool

import pytest

from bot.errors import FeedParseError
from bot.feeds.model import ParsedFeed
from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import HOSTILE_DIR, hostile_feed_names, manifest_notes
from tests.bot.feeds.invariants import problems_with

PER_FILE_BUDGET_SECONDS = 10.0
FETCHED_AT = datetime(2026, 8, 1, tzinfo=UTC)

ITEMS, EMPTY, ERROR = "items", "empty", "error"

# What each document must produce. "empty" = a well-formed feed that has no items.
EXPECTED = {
    "billion-laughs-full-1e9.xml": ERROR,
    "billion-laughs-xmlbomb.xml": ERROR,
    "bogus-encoding-name.xml": EMPTY,
    "bogus-phpxml-declaration-rss2.xml": ITEMS,
    "bot-challenge-html-nj-com.html": ERROR,
    "channel-without-rss-root-tumblr.xml": ERROR,
    "control-char-in-title.xml": ITEMS,
    "corrupted-ampersands-in-link.xml": ITEMS,
    "cyclic-entity.xml": ERROR,
    "double-encoded-html.xml": ITEMS,
    "empty-document-comment-only.xml": ERROR,
    "empty-file.xml": ERROR,
    "encoding-attribute-crash.xml": ERROR,  # its one item has neither title nor link
    "encoding-mismatch-crash.xml": ITEMS,
    "entity-declared-xmlbomb2.xml": ERROR,
    "external-parameter-entity-rdf.xml": EMPTY,
    "gzip-body-invalid-characters.xml.gz": ITEMS,
    "gzip-body-oren-ru-windows-1251.xml.gz": ITEMS,
    "high-bit-date-iso-8859-7.xml": EMPTY,
    "html-document-moved-not-a-feed.html": ERROR,
    "huge-real-atom-yakubin.xml": ITEMS,
    "illegally-nested-feedburner-rss2.xml": ITEMS,
    "illformed-unclosed-root.xml": ERROR,
    "illformed-xhtml-doctype.xml": EMPTY,
    "incomplete-cdata.xml": ERROR,  # its one item has neither title nor link
    "internal-entity-in-doctype-rss.xml": ERROR,  # its one item has only a guid
    "invalid-bytes-after-utf8-bom.xml": ERROR,
    "invalid-date-formats-rss2.xml": ITEMS,
    "invalid-encoding-in-prolog.xml": ITEMS,
    "koi8r-declared.xml": ITEMS,
    "le-cercle-psy-no-prolog-latin1-rss2.xml": ITEMS,
    "leading-newline-before-xml-decl-techcrunch-rss2.xml": ITEMS,
    "leading-space-before-xml-decl-youtube-atom.xml": ITEMS,
    "legacy-entity-prefix-in-text.xml": ERROR,
    "mojibake-linenoise.xml": ITEMS,
    "prolog-says-iso-8859-1-body-utf8.xml": ITEMS,
    "prolog-says-windows-1252-body-utf8.xml": EMPTY,
    "quadratic-blowup-rss2.xml": ITEMS,
    "quadratic-blowup.xml": ERROR,
    "rdf-empty-textinput.xml": ITEMS,
    "reuters-truncated-server-exception.xml": ERROR,
    "sax-error-in-item.xml": ITEMS,
    "undeclared-encoding-big5.xml": EMPTY,
    "undeclared-encoding-eucjp.xml": ITEMS,
    "undeclared-encoding-euckr.xml": ITEMS,
    "undeclared-encoding-gb2312.xml": ITEMS,
    "undeclared-encoding-koi8r.xml": ITEMS,
    "undeclared-encoding-shiftjis.xml": ITEMS,
    "undeclared-encoding-tis620.xml": ITEMS,
    "undeclared-encoding-windows1255.xml": ITEMS,
    "undeclared-html-entity-hellip.xml": ERROR,
    "undeclared-html-entity-nbsp.xml": ERROR,
    "undeclared-namespace-prefix.xml": ERROR,
    "unknown-entity-doesnotexist.xml": ERROR,
    "uol-noticias-no-prolog-latin1-rss.xml": ITEMS,
    "utf-16le-bom.xml": EMPTY,
    "utf-32be-no-bom.xml": EMPTY,
    "utf8-bom-then-comment.xml": EMPTY,
    "xhtml-dtd-doctype.xml": ERROR,
    "xxe-atom10.xml": ERROR,
    "xxe-external-file-entity.xml": ERROR,
    "xxe-external-http-entity.xml": ERROR,
}


def test_every_hostile_document_has_an_expectation() -> None:
    listed_in_manifest = {name.removeprefix("hostile/") for name in manifest_notes() if name.startswith("hostile/")}
    assert set(hostile_feed_names()) == set(EXPECTED) == listed_in_manifest


class _Worker:
    """One worker process; replaced when a document overruns its budget."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self.pool: Pool = self._context.Pool(processes=1)

    def replace(self) -> None:
        self.pool.terminate()
        self.pool.join()
        self.pool = self._context.Pool(processes=1)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


@pytest.fixture(scope="module")
def worker() -> Iterator[_Worker]:
    running = _Worker()
    yield running
    running.close()


def _expanded_size(body: bytes) -> int:
    return len(gzip.decompress(body)) if body.startswith(b"\x1f\x8b") else len(body)


def _text_size(feed: ParsedFeed) -> int:
    return len(feed.title) + sum(len(item.title) + len(item.summary) + len(item.guid or "") for item in feed.items)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_document_yields_items_or_feed_parse_error(worker: _Worker, name: str) -> None:
    body = (HOSTILE_DIR / name).read_bytes()
    pending = worker.pool.apply_async(
        parse_feed, (body,), {"url": "https://hostile.example/feed", "fetched_at": FETCHED_AT}
    )
    try:
        outcome: ParsedFeed | FeedParseError = pending.get(timeout=PER_FILE_BUDGET_SECONDS)
    except FeedParseError as error:
        outcome = error
    except multiprocessing.TimeoutError:
        worker.replace()
        pytest.fail(f"{name} took over {PER_FILE_BUDGET_SECONDS} s")

    if isinstance(outcome, FeedParseError):
        assert EXPECTED[name] == ERROR, f"unexpected FeedParseError: {outcome}"
        assert str(outcome), "FeedParseError needs a message"
        return
    assert EXPECTED[name] == (ITEMS if outcome.items else EMPTY)
    assert problems_with(outcome) == []
    # An expanded entity bomb would dwarf the document it came from.
    assert _text_size(outcome) <= 2 * _expanded_size(body) + 10_000
