"""neutralize_dtd: DTDs never reach feedparser, in any encoding or disguise."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser  # to show what the unprotected parser does with the same bytes
import pytest

from bot.feeds.parser import parse_feed
from bot.feeds.sanitize import neutralize_dtd
from tests.bot.feeds.corpus import HOSTILE_DIR, REAL_DIR, REPO

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
RSS_BODY = (
    '<rss version="2.0"><channel><title>T</title>'
    "<item><title>{title}</title><link>http://example.com/a</link>"
    "<guid isPermaLink='false'>{guid}</guid></item></channel></rss>"
)


def _rss(title: str = "Hello", guid: str = "g-1") -> str:
    return RSS_BODY.format(title=title, guid=guid)


def _quadratic(entity_size: int, references: int, *, prolog: str = "") -> bytes:
    doctype = f'<!DOCTYPE rss [\n<!ENTITY a "{"B" * entity_size}">\n]>\n'
    return (prolog + doctype + _rss(title="&a;" * references)).encode()


@pytest.mark.parametrize("name", ["bbc-news-home-rss2.xml", "donthitsave-rss2.xml", "kc0011-rss2.xml"])
def test_documents_without_a_dtd_pass_through_byte_for_byte(name: str) -> None:
    body = (REAL_DIR / name).read_bytes()
    assert neutralize_dtd(body) == body


@pytest.mark.parametrize(
    ("prolog", "doctype"),
    [
        ("", '<!DOCTYPE rss [<!ENTITY a "BBBB">]>'),
        ('<?xml version="1.0"?>', '<!DOCTYPE rss [<!ENTITY a "BBBB">]>'),
        ('<?xml version="1.0"?>\n', '<!doctype rss [ <!entity a "BBBB"> ]>'),  # case
        ("", '<!DOCTYPE\n\trss\r\n[\n\n<!ENTITY  a\t"BBBB"  >\n]\n>'),  # odd whitespace
        ("", '<!DOCTYPE rss [<!-- ]> --><!ENTITY a "BB]>BB">]>'),  # "]>" in comment/value
        ("", '<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd" [<!ENTITY a "BBBB">]>'),
        ("<!-- leading comment -->\n", '<!DOCTYPE rss [<!ENTITY a "BBBB">]>'),
        ("<?xml-stylesheet href='s.xsl'?>", "<!DOCTYPE rss [<!ENTITY a 'BBBB'>]>"),
    ],
)
def test_internal_subsets_are_removed_however_written(prolog: str, doctype: str) -> None:
    body = (prolog + doctype + _rss(title="&a;" * 50)).encode()

    cleaned = neutralize_dtd(body, entity_budget=0)

    assert b"DOCTYPE" not in cleaned.upper()
    assert b"ENTITY" not in cleaned.upper()
    assert cleaned.endswith(_rss(title="&a;" * 50).encode())


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b""),
    ],
)
def test_doctype_is_found_in_utf8_bom_and_utf16_32_documents(codec: str, bom: bytes) -> None:
    declared = codec.split("-le")[0].split("-be")[0]
    declaration = f'<?xml version="1.0" encoding="{declared}"?>\n'
    text = declaration + f'<!DOCTYPE rss [<!ENTITY a "{"B" * 5000}">]>\n'
    body = bom + (text + _rss(title="&a;" * 5000)).encode(codec)

    cleaned = neutralize_dtd(body)

    assert cleaned.startswith(bom)
    decoded = cleaned[len(bom) :].decode(codec)
    assert "DOCTYPE" not in decoded
    assert decoded.startswith('<?xml version="1.0"')
    feed = parse_feed(body, url="https://example.com/", fetched_at=FETCHED_AT)
    assert len(feed.items[0].title) < 20_000  # 5000 x "&a;" unexpanded, not 25 MB


def test_entity_declarations_hidden_in_prolog_comments_are_dropped() -> None:
    # feedparser's loose parser finds "<!ENTITY" lines anywhere before the root.
    body = ('<!--\n<!ENTITY a "' + "B" * 2000 + '">\n<!DOCTYPE x>\n-->\n' + _rss(title="&a;" * 2000)).encode()

    cleaned = neutralize_dtd(body)

    assert b"ENTITY" not in cleaned
    feed = parse_feed(body, url="https://e.com/", fetched_at=FETCHED_AT)
    assert len(feed.items[0].title) < 10_000


def test_small_plain_entities_are_kept_so_documents_mean_what_they_say() -> None:
    body = (HOSTILE_DIR / "internal-entity-in-doctype-rss.xml").read_bytes()

    result = feedparser.parse(io.BytesIO(neutralize_dtd(body)))

    assert result.entries[0]["id"] == "tag:example.com,2006-05-04:/blog/"


def test_entities_beyond_the_expansion_budget_are_not_declared() -> None:
    body = _quadratic(100, 10)  # expands to exactly 1000 characters

    assert b"<!ENTITY a " in neutralize_dtd(body, entity_budget=1000)
    assert b"<!ENTITY" not in neutralize_dtd(body, entity_budget=999)


@pytest.mark.parametrize(
    "value",
    ["&b;", "<x/>", "%p;", "a&amp;b", "x" * 2000],
    ids=["reference", "markup", "parameter-reference", "escaped", "long"],
)
def test_entities_that_are_not_plain_short_text_are_never_kept(value: str) -> None:
    body = (f'<!DOCTYPE rss [<!ENTITY a "{value}">]>' + _rss(title="&a;")).encode()
    assert b"<!ENTITY" not in neutralize_dtd(body)


def test_undefined_references_left_behind_do_not_break_parsing() -> None:
    body = _quadratic(50_000, 3)  # entity too big to keep: &a; stays undefined

    feed = parse_feed(body, url="https://example.com/", fetched_at=FETCHED_AT)

    assert [item.link for item in feed.items] == ["http://example.com/a"]
    assert "B" * 100 not in feed.items[0].title


def test_unprotected_feedparser_expands_the_scaled_down_bomb_but_we_do_not() -> None:
    # The same shape as hostile/quadratic-blowup-rss2.xml at 1/100 scale: this shows
    # the protection is what makes the difference, not feedparser itself.
    body = _quadratic(2000, 2000)

    unprotected = feedparser.parse(io.BytesIO(body)).entries[0]["title"]
    protected = parse_feed(body, url="https://example.com/", fetched_at=FETCHED_AT)

    assert len(unprotected) == 2000 * 2000
    assert len(protected.items[0].title) <= 3 * 2000


def _bomb_text(prefix: str = "", newline: str = "\n") -> str:
    # With newlines feedparser's loose parser expands the entity; on one line, expat
    # does (4 MB is within its amplification limits).
    doctype = f'<!DOCTYPE rss [{newline}<!ENTITY a "{"B" * 2000}">{newline}]>{newline}'
    return prefix + doctype + _rss(title="&a;" * 2000)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # "<" then NUL looks like UTF-16 to a sniffer, but feedparser reads UTF-8
        (_bomb_text("<\x00 junk\n").encode(), None),
        # EBCDIC, which feedparser detects from the first four bytes
        (_bomb_text('<?xml version="1.0" encoding="cp037"?>', newline="").encode("cp037"), None),
        # BOM-less UTF-16 after a space: only the HTTP charset says what it is
        (_bomb_text(" \n").encode("utf-16-be"), "application/rss+xml; charset=utf-16be"),
    ],
    ids=["nul-after-lt", "ebcdic", "utf16-by-header"],
)
def test_encoding_tricks_cannot_hide_a_dtd(body: bytes, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}

    unprotected = feedparser.parse(io.BytesIO(body), response_headers=headers)
    protected = parse_feed(body, url="https://example.com/", fetched_at=FETCHED_AT, content_type=content_type)

    assert len(unprotected.entries[0]["title"]) == 2000 * 2000
    assert len(protected.items[0].title) <= 3 * 2000


QUADRATIC_PROBE = """
import re, sys
from datetime import UTC, datetime
from pathlib import Path
from bot.feeds.parser import parse_feed
body = Path(sys.argv[1]).read_bytes()
feed = parse_feed(body, url="https://example.com/feed", fetched_at=datetime.now(UTC))
# VmHWM is this process's own peak RSS; ru_maxrss would include the forking parent's.
status = Path("/proc/self/status").read_text()
peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
print(peak_kib, len(feed.items), max(len(item.title) for item in feed.items))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_quadratic_blowup_document_parses_fast_and_small_in_a_fresh_process() -> None:
    path = HOSTILE_DIR / "quadratic-blowup-rss2.xml"

    # A fresh interpreter, so this test process's own memory does not count; the
    # timeout is generous on purpose (unprotected feedparser needs ~9 s and 1.2 GB).
    completed = subprocess.run(
        [sys.executable, "-c", QUADRATIC_PROBE, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    peak_kib, item_count, longest_title = map(int, completed.stdout.split())

    assert peak_kib < 100 * 1024
    assert item_count == 1
    assert longest_title < path.stat().st_size
