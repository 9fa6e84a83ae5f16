"""The SSRF guard inside FeedFetcher: every hop is checked before connecting.

``public.test`` resolves (stub DNS) to the loopback test server, and the tests that
use it tell the fetcher that exactly 127.0.0.1 counts as public, so the guarded
path can be exercised end to end without leaving the machine.
"""

from __future__ import annotations

import re

import pytest

from bot.errors import BlockedAddress, FetchError
from bot.fetch.fetcher import FeedFetcher
from bot.fetch.limits import FetchLimits
from tests.bot.fetch.helpers import (
    STUB_ANSWERS,
    FetcherFactory,
    LoopbackOnlySockets,
    OffMachineConnection,
    StubResolver,
    loopback_counts_as_public,
)
from tests.bot.fetch.server import FEED_BODY, MisbehavingServer


async def test_guarded_fetch_works_for_an_allowed_address(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(is_allowed_address=loopback_counts_as_public)
    result = await fetcher.fetch(server.url("/feed", host="public.test"))
    assert (result.status, result.body) == (200, FEED_BODY)
    assert make_fetcher.sockets.targets == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://10.0.0.1/", "refused: 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://0x7f000002/", "refused: 127.0.0.2 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/", "is a private address"),
        ("http://[::1]/", "refused: ::1 is a loopback address"),
        ("http://evil.test/", "refused: evil.test resolves to 10.0.0.5, a private address"),
        ("http://metadata.test/", "resolves to 169.254.169.254"),
        ("http://mixed.test/", "resolves to 10.0.0.7"),
    ],
)
async def test_redirect_to_a_non_public_address_is_refused_before_connecting(
    server: MisbehavingServer, make_fetcher: FetcherFactory, target: str, message: str
) -> None:
    fetcher = await make_fetcher(is_allowed_address=loopback_counts_as_public)
    with pytest.raises(BlockedAddress) as caught:
        await fetcher.fetch(server.url(f"/redirect-to?target={target}", host="public.test"))
    assert message in str(caught.value)
    # Only the first hop (the loopback server) was ever connected to.
    assert make_fetcher.sockets.targets == ["127.0.0.1"]


async def test_loopback_literal_is_refused_without_connecting(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher()
    for url in (server.url("/feed"), f"http://2130706433:{server.port}/feed"):
        with pytest.raises(BlockedAddress, match=re.escape("refused: 127.0.0.1 is a loopback address")):
            await fetcher.fetch(url)
    assert make_fetcher.sockets.targets == []


async def test_dns_rebinding_between_check_and_fetch_is_caught(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    stub = StubResolver(STUB_ANSWERS)
    fetcher = await make_fetcher(resolver=stub)
    url = server.url("/feed", host="rebind.test")
    await fetcher.check_url(url)  # the add-time lookup answers a public address
    with pytest.raises(BlockedAddress, match=re.escape("rebind.test resolves to 127.0.0.1")):
        await fetcher.fetch(url)  # the connect-time lookup answers loopback
    assert stub.lookups == ["rebind.test", "rebind.test"]
    assert make_fetcher.sockets.targets == []


async def test_check_url_refuses_with_the_address_class(make_fetcher: FetcherFactory) -> None:
    fetcher = await make_fetcher()
    with pytest.raises(BlockedAddress, match=re.escape("refused: 10.0.0.1 is a private address")):
        await fetcher.check_url("http://10.0.0.1/feed")
    with pytest.raises(BlockedAddress, match=re.escape("evil.test resolves to 10.0.0.5")):
        await fetcher.check_url("https://evil.test/feed")
    with pytest.raises(FetchError, match="cannot resolve"):
        await fetcher.check_url("https://nowhere.test/feed")
    await fetcher.check_url("https://faraway.test/feed")
    assert make_fetcher.sockets.targets == []


async def test_trusted_fetch_skips_the_guard_on_every_hop(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher()
    direct = await fetcher.fetch(server.url("/feed"), trusted=True)
    assert direct.status == 200
    via_redirect = await fetcher.fetch(
        server.url(f"/redirect-to?target=http://127.0.0.1:{server.port}/feed", host="hosta.test"),
        trusted=True,
    )
    assert (via_redirect.status, via_redirect.final_url) == (200, server.url("/feed"))


async def test_allow_private_disables_the_guard_for_everyone(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(allow_private=True)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.status == 200
    redirected = await fetcher.fetch(server.url("/redirect-to?target=/feed", host="hosta.test"))
    assert redirected.status == 200
    await fetcher.check_url("http://10.0.0.1/feed")  # shape only


async def test_guarded_redirect_chain_within_allowed_hosts_still_counts_hops(
    server: MisbehavingServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = await make_fetcher(FetchLimits(max_redirects=2), is_allowed_address=loopback_counts_as_public)
    ok = await fetcher.fetch(server.url("/chain/2", host="public.test"))
    assert ok.status == 200
    with pytest.raises(FetchError, match="more than 2 redirects"):
        await fetcher.fetch(server.url("/chain/3", host="public.test"))


async def test_the_loopback_only_safety_net_refuses_off_machine_connections() -> None:
    # The net under every test fetcher: were the guard broken, this is what stops it.
    sockets = LoopbackOnlySockets()
    async with FeedFetcher(
        FetchLimits(),
        allow_private=True,
        resolver=StubResolver(STUB_ANSWERS),
        socket_factory=sockets,
    ) as fetcher:
        with pytest.raises(OffMachineConnection, match=re.escape("93.184.216.34")):
            await fetcher.fetch("http://faraway.test/feed")
    assert sockets.targets == ["93.184.216.34"]
