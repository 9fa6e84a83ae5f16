"""FeedFetcher against the local misbehaving server: conditional GET, redirects,
status handling and the headers it sends."""

from __future__ import annotations

import hashlib
import json

import pytest

from bot.errors import FetchError, HTTPStatusError, InvalidFeedURL, TooManyRedirects
from bot.fetch.fetcher import FEED_ACCEPT, FeedFetcher, accept_encoding
from bot.fetch.limits import FetchLimits
from tests.bot.fetch.helpers import FetcherFactory
from tests.bot.fetch.server import (
    FEED_BODY,
    FEED_ETAG,
    FEED_LAST_MODIFIED,
    MisbehavingServer,
)


async def test_plain_fetch_returns_body_hash_and_validators(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher()
    result = await fetcher.fetch(server.url("/feed"), trusted=True)
    assert result.status == 200
    assert result.body == FEED_BODY
    assert result.body_sha256 == hashlib.sha256(FEED_BODY).hexdigest()
    assert result.etag == FEED_ETAG
    assert result.last_modified == FEED_LAST_MODIFIED
    assert result.content_type == "application/rss+xml"
    assert result.final_url == server.url("/feed")
    assert result.moved_to is None
    assert result.cache_max_age is None
    assert 0 < result.elapsed < 5


async def test_etag_revalidation_gives_304_without_body(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher()
    first = await fetcher.fetch(server.url("/etag-only"), trusted=True)
    assert (first.status, first.etag) == (200, '"e1"')
    again = await fetcher.fetch(server.url("/etag-only"), etag=first.etag, trusted=True)
    assert again.status == 304
    assert again.body is None
    assert again.body_sha256 is None
    assert again.etag == '"e1"'  # kept although the 304 did not repeat it
    stale = await fetcher.fetch(server.url("/etag-only"), etag='"old"', trusted=True)
    assert stale.status == 200


async def test_last_modified_revalidation_gives_304(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    first = await fetcher.fetch(server.url("/lastmod-only"), trusted=True)
    assert (first.status, first.etag, first.last_modified) == (200, None, FEED_LAST_MODIFIED)
    again = await fetcher.fetch(server.url("/lastmod-only"), last_modified=first.last_modified, trusted=True)
    assert (again.status, again.body, again.last_modified) == (304, None, FEED_LAST_MODIFIED)


async def test_identifying_headers_are_sent(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    limits = FetchLimits(user_agent="Storywatch-test/9 (+https://example.org/bot)")
    fetcher = await make_fetcher(limits)
    result = await fetcher.fetch(server.url("/headers"), etag='"abc"', last_modified=FEED_LAST_MODIFIED, trusted=True)
    assert result.body is not None
    sent = json.loads(result.body)
    assert sent["User-Agent"] == "Storywatch-test/9 (+https://example.org/bot)"
    assert sent["Accept"] == FEED_ACCEPT
    assert sent["Accept-Encoding"] == accept_encoding()
    assert sent["If-None-Match"] == '"abc"'
    assert sent["If-Modified-Since"] == FEED_LAST_MODIFIED
    assert "Cookie" not in sent


async def test_default_user_agent_identifies_the_bot(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    await fetcher.fetch(server.url("/headers"), trusted=True)
    user_agent = server.state.request_headers[-1]["User-Agent"]
    assert user_agent == FetchLimits().user_agent
    assert user_agent.startswith("Storywatch/")
    assert "gzip" in server.state.request_headers[-1]["Accept-Encoding"]


async def test_validator_with_a_line_break_is_not_sent(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    await fetcher.fetch(server.url("/headers"), etag='"a"\r\nX-Evil: 1', trusted=True)
    sent = server.state.request_headers[-1]
    assert "If-None-Match" not in sent
    assert "X-Evil" not in sent


async def test_cache_control_max_age_is_reported(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    result = await fetcher.fetch(server.url("/cache"), trusted=True)
    assert result.cache_max_age == 600


async def test_redirect_loop_is_refused(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher(FetchLimits(max_redirects=20))
    with pytest.raises(TooManyRedirects, match="loop"):
        await fetcher.fetch(server.url("/loop-a"), trusted=True)


async def test_redirect_chain_of_six_exceeds_the_limit_of_five(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        await fetcher.fetch(server.url("/chain/6"), trusted=True)
    five = await fetcher.fetch(server.url("/chain/5"), trusted=True)
    assert (five.status, five.final_url) == (200, server.url("/chain/0"))


@pytest.mark.parametrize(
    ("codes", "moved"),
    [
        ("301", True),
        ("308", True),
        ("301-308-301", True),
        ("302", False),
        ("307", False),
        ("303", False),
        ("301-302", False),
        ("302-301", False),
    ],
)
async def test_moved_to_only_when_every_hop_is_permanent(
    server: MisbehavingServer, make_fetcher: FetcherFactory, codes: str, moved: bool
) -> None:
    fetcher = await make_fetcher()
    result = await fetcher.fetch(server.url(f"/hops/{codes}"), trusted=True)
    assert result.status == 200
    assert result.final_url == server.url("/hops/")
    assert result.moved_to == (server.url("/hops/") if moved else None)


async def test_relative_location_is_resolved(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    result = await fetcher.fetch(server.url("/dir/relative"), trusted=True)
    assert (result.status, result.final_url, result.body) == (200, server.url("/feed"), FEED_BODY)


@pytest.mark.parametrize("target", ["ftp://example.org/feed", "file:///etc/passwd", "javascript:alert(1)"])
async def test_redirect_to_a_non_http_scheme_is_refused(
    server: MisbehavingServer, make_fetcher: FetcherFactory, target: str
) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(InvalidFeedURL, match="refused redirect"):
        await fetcher.fetch(server.url(f"/redirect-to?target={target}"), trusted=True)


async def test_redirect_without_location_is_an_error(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(FetchError, match="without a Location"):
        await fetcher.fetch(server.url("/no-location"), trusted=True)


async def test_410_means_gone(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/status/410"), trusted=True)
    assert caught.value.status == 410
    assert caught.value.retry_after is None
    assert "410 Gone" in str(caught.value)


async def test_429_with_retry_after_seconds(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/status/429"), trusted=True)
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)


async def test_429_with_retry_after_http_date(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/retry-date"), trusted=True)
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    # HTTP-dates have one-second resolution; the server's Date header is the reference.
    assert 118 <= caught.value.retry_after <= 121


async def test_503_with_retry_after(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url("/status/503"), trusted=True)
    assert (caught.value.status, caught.value.retry_after) == (503, 7.0)


@pytest.mark.parametrize("code", [500, 404, 403, 400])
async def test_other_errors_carry_their_status_and_no_server_text(
    server: MisbehavingServer, make_fetcher: FetcherFactory, code: int
) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(server.url(f"/status/{code}"), trusted=True)
    assert caught.value.status == code
    assert caught.value.retry_after is None
    assert "everyone" not in str(caught.value)  # the server's reason phrase is not echoed


async def test_connection_refused_is_a_short_fetch_error(make_fetcher: FetcherFactory, closed_port: int) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"http://127.0.0.1:{closed_port}/feed?token=SECRET", trusted=True)
    assert str(caught.value) == "cannot connect to 127.0.0.1 (connection refused)"


async def test_server_hanging_up_is_a_fetch_error(server: MisbehavingServer, make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(FetchError, match="closed the connection"):
        await fetcher.fetch(server.url("/hangup"), trusted=True)


async def test_unresolvable_host_is_a_fetch_error(make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(FetchError, match=r"^cannot resolve nowhere\.test$"):
        await fetcher.fetch("http://nowhere.test/feed", trusted=True)


async def test_fetch_before_start_is_a_programming_error() -> None:
    fetcher = FeedFetcher(FetchLimits(), allow_private=False)
    with pytest.raises(RuntimeError, match="start"):
        await fetcher.fetch("http://example.com/feed")
