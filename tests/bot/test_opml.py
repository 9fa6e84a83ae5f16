"""OPML import/export: real-world shapes, refusals, XXE and entity bombs, round trips."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import FeedError, OpmlError
from bot.fetch.netguard import validate_feed_url
from bot.opml import MAX_NAME_LENGTH, OpmlFeed, OpmlImport, export_opml, parse_opml

SHARED_FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeds"


def opml(body: str, *, head: str = "<head><title>Subscriptions</title></head>") -> bytes:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return f'{declaration}<opml version="2.0">{head}<body>{body}</body></opml>'.encode()


# A typical reader export: folders, a feed at the top level, a plain-text outline.
READER_EXPORT = opml(
    """
    <outline text="News" title="News">
      <outline type="rss" text="BBC News" title="BBC News - Home"
               xmlUrl="https://feeds.bbci.co.uk/news/rss.xml" htmlUrl="https://www.bbc.co.uk/news/"/>
      <outline text="Nested">
        <outline type="rss" text="NPR" xmlUrl="https://feeds.npr.org/1001/rss.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Variety" xmlUrl="https://variety.com/feed/"/>
    <outline text="Just a note, no feed"/>
    """
)


def test_reader_export_yields_every_feed_in_document_order() -> None:
    result = parse_opml(READER_EXPORT)
    assert result == OpmlImport(
        feeds=[
            OpmlFeed("BBC News - Home", "https://feeds.bbci.co.uk/news/rss.xml"),
            OpmlFeed("NPR", "https://feeds.npr.org/1001/rss.xml"),
            OpmlFeed("Variety", "https://variety.com/feed/"),
        ],
        skipped=[],
    )


URL = "https://a.example/f"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (f'title="T" text="X" xmlUrl="{URL}"', OpmlFeed("T", URL)),
        (f'text="Only text" xmlUrl="{URL}"', OpmlFeed("Only text", URL)),
        (f'title="  " text="Text wins" xmlUrl="{URL}"', OpmlFeed("Text wins", URL)),
        ('xmlUrl="https://news.example.org/rss"', OpmlFeed("news.example.org", "https://news.example.org/rss")),
        (f'text="lower" xmlurl="{URL}"', OpmlFeed("lower", URL)),
        (f'text="upper" XMLURL="{URL}"', OpmlFeed("upper", URL)),
        (f'text="  Many\n\t spaces  " xmlUrl=" {URL} "', OpmlFeed("Many spaces", URL)),
        ('text="Norm" xmlUrl="HTTPS://A.Example:443/f#frag"', OpmlFeed("Norm", URL)),
        ('text="&amp; &lt;ok&gt; &#233;" xmlUrl="https://a.example/f?a=1&amp;b=2"',
         OpmlFeed("& <ok> é", "https://a.example/f?a=1&b=2")),
    ],
)  # fmt: skip
def test_names_and_urls(attributes: str, expected: OpmlFeed) -> None:
    assert parse_opml(opml(f"<outline {attributes}/>")).feeds == [expected]


def test_long_names_are_cut() -> None:
    result = parse_opml(opml(f'<outline text="{"n" * 5000}" xmlUrl="https://a.example/f"/>'))
    (feed,) = result.feeds
    assert len(feed.name) == MAX_NAME_LENGTH
    assert feed.name.endswith("…")


def test_non_http_urls_are_skipped_and_reported() -> None:
    result = parse_opml(
        opml(
            """
            <outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/>
            <outline text="js" xmlUrl="javascript:alert(1)"/>
            <outline text="file" xmlUrl="file:///etc/passwd"/>
            <outline text="relative" xmlUrl="/feed.xml"/>
            <outline text="ok" xmlUrl="http://a.example/feed"/>
            <outline text="empty is a folder" xmlUrl="   "/>
            """
        )
    )
    assert result.feeds == [OpmlFeed("ok", "http://a.example/feed")]
    assert result.skipped == [
        "ftp://files.example/feed.xml",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "/feed.xml",
    ]


def test_repeated_urls_are_kept_once() -> None:
    result = parse_opml(
        opml('<outline text="first" xmlUrl="https://a.example/f"/><outline text="again" xmlUrl="HTTPS://a.example/f"/>')
    )
    assert result.feeds == [OpmlFeed("first", "https://a.example/f")]


def test_opml_1_and_utf16_documents_are_read() -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-16"?><opml version="1.0"><head/><body>'
        '<outline text="Ünïcode ✓" xmlUrl="https://a.example/f"/></body></opml>'
    )
    assert parse_opml(text.encode("utf-16")).feeds == [OpmlFeed("Ünïcode ✓", "https://a.example/f")]


def test_deep_nesting_is_walked_without_recursion() -> None:
    depth = 40_000
    data = opml("<outline>" * depth + '<outline text="deep" xmlUrl="https://a.example/f"/>' + "</outline>" * depth)
    assert parse_opml(data).feeds == [OpmlFeed("deep", "https://a.example/f")]


def test_oversize_input_is_refused_before_parsing() -> None:
    # Not even XML: the size check must come first.
    with pytest.raises(OpmlError, match="1,001 bytes; the limit is 1,000 bytes"):
        parse_opml(b"x" * 1001, max_bytes=1000)


def test_size_limit_is_inclusive() -> None:
    data = opml('<outline text="a" xmlUrl="https://a.example/f"/>')
    assert len(parse_opml(data, max_bytes=len(data)).feeds) == 1
    with pytest.raises(OpmlError, match="limit"):
        parse_opml(data, max_bytes=len(data) - 1)


def test_too_many_entries_are_refused_counting_skipped_ones() -> None:
    good = "".join(f'<outline text="{i}" xmlUrl="https://a.example/{i}"/>' for i in range(3))
    assert len(parse_opml(opml(good), max_entries=3).feeds) == 3
    with pytest.raises(OpmlError, match="more than 3 feeds"):
        parse_opml(opml(good + '<outline xmlUrl="ftp://x.example/"/>'), max_entries=3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'<rss version="2.0"><channel/></rss>', r"not an OPML file .*<rss>"),
        (b'<opml version="2.0"><head/></opml>', "no <body>"),
        (b'<opml version="2.0"><body><outline></body></opml>', r"not well-formed XML \(line 1"),
        (b"\x00\x01\x02binary", "not well-formed XML"),
        (b'<?xml version="1.0" encoding="no-such-codec"?><opml/>', "cannot be read as XML"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message) as caught:
        parse_opml(data)
    assert isinstance(caught.value, FeedError)
    assert caught.value.kind == "opml"


BILLION_LAUGHS = opml(
    '<outline text="&lol9;" xmlUrl="https://a.example/f"/>',
    head="",
).replace(
    b"<opml",
    b"""<!DOCTYPE opml [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml""",
    1,
)


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(BILLION_LAUGHS)


def test_even_a_harmless_internal_entity_is_refused() -> None:
    data = opml('<outline text="&name;" xmlUrl="https://a.example/f"/>').replace(
        b"<opml", b'<!DOCTYPE opml [<!ENTITY name "x">]><opml', 1
    )
    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(data)


def test_xxe_local_file_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = opml('<outline text="&leak;" xmlUrl="https://a.example/f"/>').replace(
        b"<opml", f'<!DOCTYPE opml [<!ENTITY leak SYSTEM "{secret.as_uri()}">]><opml'.encode(), 1
    )
    with pytest.raises(OpmlError, match="refused for safety") as caught:
        parse_opml(data)
    assert "TOP-SECRET-VALUE" not in str(caught.value)


class RequestLog:
    def __init__(self) -> None:
        self.paths: list[str] = []


@pytest.fixture
async def listening_server() -> AsyncIterator[tuple[str, RequestLog]]:
    """A real server on 127.0.0.1 that records any request an XML parser might make."""
    log = RequestLog()

    async def record(request: web.Request) -> web.Response:
        log.paths.append(request.path)
        return web.Response(text='<!ENTITY leak "fetched">', content_type="application/xml-dtd")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE opml [<!ENTITY leak SYSTEM "{base}/general">]>',
        '<!DOCTYPE opml [<!ENTITY % remote SYSTEM "{base}/parameter"> %remote;]>',
        '<!DOCTYPE opml SYSTEM "{base}/external-dtd">',
    ],
)
async def test_xxe_over_http_never_reaches_the_network(listening_server: tuple[str, RequestLog], doctype: str) -> None:
    base, log = listening_server
    title = "&leak;" if "general" in doctype else "plain"
    data = opml(f'<outline text="{title}" xmlUrl="https://a.example/f"/>').replace(
        b"<opml", doctype.format(base=base).encode() + b"<opml", 1
    )
    # In a thread, so a parser that did fetch would get an answer instead of deadlocking.
    try:
        result = await asyncio.to_thread(parse_opml, data)
    except OpmlError:
        pass
    else:
        # An external DTD with no entity use is harmless; it must simply not be fetched.
        assert result.feeds == [OpmlFeed("plain", "https://a.example/f")]
    assert log.paths == []


def shared_documents() -> list[Path]:
    if not SHARED_FEEDS.is_dir():
        return []
    return sorted(p for p in SHARED_FEEDS.glob("*/*") if p.is_file())


def test_every_shared_feed_and_attack_document_is_refused_cleanly() -> None:
    documents = shared_documents()
    if not documents:
        pytest.skip(f"shared feeds not found at {SHARED_FEEDS}")
    assert len(documents) >= 100
    accepted = []
    for path in documents:
        try:
            parse_opml(path.read_bytes())
        except OpmlError:
            continue
        accepted.append(path.name)
    assert accepted == []


def test_export_is_valid_opml_2_with_escaping() -> None:
    feeds = [
        OpmlFeed('Tom & Jerry <"live">', "https://a.example/f?x=1&y=<2>"),
        OpmlFeed("Tab\there\nnewline", "https://b.example/feed"),
        OpmlFeed("control\x01\x0bchars", "https://c.example/feed"),
    ]
    data = export_opml(feeds, title="Server & <friends>")
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(data)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Server & <friends>"
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [f.url for f in feeds]
    assert [o.get("text") for o in outlines] == [
        'Tom & Jerry <"live">',
        "Tab\there\nnewline",
        "controlchars",
    ]
    assert all(o.get("type") == "rss" for o in outlines)


def test_export_then_import_round_trip() -> None:
    feeds = [
        OpmlFeed('Tom & Jerry <"live">', "https://a.example/f?x=1&y=2"),
        OpmlFeed("Ünïcode ✓ 🎬", "http://b.example/feed"),
    ]
    assert parse_opml(export_opml(feeds, "t")) == OpmlImport(feeds=feeds, skipped=[])


def test_export_of_nothing_is_still_valid() -> None:
    root = ET.fromstring(export_opml([], "empty"))
    assert root.findall("body/outline") == []
    assert parse_opml(export_opml([], "empty")) == OpmlImport()


# Names as a reader shows them: printable, single-spaced, trimmed, within the length cap.
_words = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S"), exclude_characters="…"),
    min_size=1,
    max_size=12,
)
_names = st.lists(_words, min_size=1, max_size=8).map(" ".join).filter(lambda name: len(name) <= MAX_NAME_LENGTH)
_hosts = st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5})?\.(com|org|example)", fullmatch=True)
_paths = st.from_regex(r"/[A-Za-z0-9_.~-]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(_names, _hosts, _paths), max_size=6), _names)
def test_round_trip_property(entries: list[tuple[str, str, str]], title: str) -> None:
    feeds: list[OpmlFeed] = []
    urls: set[str] = set()
    for name, host, path in entries:
        # Import normalizes URLs (dot segments, case); the round trip is exact on normal forms.
        url = validate_feed_url(f"https://{host}{path}")
        if url not in urls:
            urls.add(url)
            feeds.append(OpmlFeed(name, url))
    assert parse_opml(export_opml(feeds, title)).feeds == feeds
