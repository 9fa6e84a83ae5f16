"""Hand-checked first items of three real feeds (values read off the XML by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.feeds.parser import parse_feed
from tests.bot.feeds.corpus import REAL_DIR

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_nbc_new_york_non_standard_pm_date() -> None:
    body = (REAL_DIR / "nbc-new-york-rss2.xml").read_bytes()

    feed = parse_feed(body, url="https://www.nbcnewyork.com/rss", fetched_at=FETCHED_AT)

    assert feed.title == "NBC New York"
    assert feed.link == "https://www.nbcnewyork.com"
    item = feed.items[0]
    assert item.title == ("NYC cops search for stabbing suspect after leaving 18-year-old to bleed out on sidewalk")
    assert item.link == (
        "https://www.nbcnewyork.com/news/local/nyc-cops-search-for-stabbing-suspect-after-"
        "leaving-18-year-old-to-bleed-out-on-sidewalk/4956764/"
    )
    assert item.guid == "4956764"
    # <pubDate>Sat, Dec 16 2023 02:02:33 PM</pubDate>: PM kept, no zone given -> UTC
    assert item.published == datetime(2023, 12, 16, 14, 2, 33, tzinfo=UTC)
    assert item.author == "Gaby Acevedo and Jessica Cunnington"
    assert item.categories == ("post",)
    assert item.summary == (
        "A young man was left for dead on a Manhattan sidewalk late Friday, bleeding out "
        "from multiple stab wounds across his body, police said."
    )


def test_neverwinter_relative_links_resolve_against_the_document_url() -> None:
    body = (REAL_DIR / "neverwinter-relative-links-rss2.xml").read_bytes()
    url = "https://www.arcgames.com/en/games/neverwinter/news/rss"

    feed = parse_feed(body, url=url, fetched_at=FETCHED_AT)

    assert feed.link == "https://www.arcgames.com/en/games/neverwinter/news"
    assert feed.ttl_seconds == 60 * 60  # <ttl>60</ttl>
    item = feed.items[0]
    assert item.title == "Neverwinter & Jingle Jam Humble Bundle!"
    assert item.link == (
        "https://www.arcgames.com/en/games/neverwinter/news/detail/10743874-neverwinter-%26-jingle-jam-humble-bundle%21"
    )
    assert item.guid == "http://www.arcgames.com/en/games/PAB_nw/news/detail/10743874"
    # <pubDate>Thu, 07 Dec 17 10:00:29 -0800</pubDate>: two-digit year
    assert item.published == datetime(2017, 12, 7, 18, 0, 29, tzinfo=UTC)
    assert item.summary.startswith("Greetings Adventurers! Neverwinter is proud to partner")


def test_kc0011_gb2312_slash_dates_and_relative_image() -> None:
    body = (REAL_DIR / "kc0011-rss2.xml").read_bytes()

    feed = parse_feed(body, url="http://www.kc0011.net/rss.asp", fetched_at=FETCHED_AT)

    assert feed.title == "投资资讯网交易在线--流通纪念币最新20篇论坛主题-全文"
    assert feed.guid_stable is False  # no <guid> anywhere
    item = feed.items[0]
    assert item.title == "建国35周年纪念，华表，和平鸽"
    assert item.link == "http://www.kc0011.net/dispbbs.asp?BoardID=10&ID=25164257&Page=1"
    assert item.guid is None
    # <pubDate>2020/1/10 14:33:00</pubDate> (feedparser alone reads 2020-11-01)
    assert item.published == datetime(2020, 1, 10, 14, 33, tzinfo=UTC)
    assert item.author == "大鱼儿"
    # first <img src="skins/default/filetype/jpg.gif"> in the description
    assert item.image == "http://www.kc0011.net/skins/default/filetype/jpg.gif"
    assert item.summary.startswith("建国35周年纪念，华表，和平鸽 35周年1套520")
