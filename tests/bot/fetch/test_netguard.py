"""The SSRF guard's pure parts (tables) and GuardedResolver over a stub resolver."""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest

from bot.errors import BlockedAddress, FetchError, InvalidFeedURL
from bot.fetch.netguard import (
    MAX_URL_LENGTH,
    GuardedResolver,
    is_public_address,
    non_public_reason,
    normalize_host,
    parse_ip_literal,
    refusal_message,
    validate_feed_url,
)
from tests.bot.fetch.helpers import PUBLIC_STANDIN, STUB_ANSWERS, StubResolver

# host text -> the address a resolver would read it as (None: it is a name)
IP_LITERALS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0177.0000.0000.0001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7f.0.0.0x1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("10.1", "10.0.0.1"),
    ("167772161", "10.0.0.1"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0", "0.0.0.0"),
    ("0x", "0.0.0.0"),
    ("1.16777215", "1.255.255.255"),
    ("[::1]", "::1"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("[2001:DB8::1]", "2001:db8::1"),
    ("example.com", None),
    ("08.0.0.1", None),  # 08 is not octal: a name, as for inet_aton
    ("1.2.3.4.5", None),
    ("256.1.1.1", None),
    ("1.16777216", None),
    ("4294967296", None),
    ("1e100", None),
    ("0x7g.1", None),
    ("1..1", None),
    ("[not-an-ip]", None),
    ("١٢٧.0.0.1", None),  # Arabic-Indic digits are not ASCII digits
]


@pytest.mark.parametrize(("host", "expected"), IP_LITERALS)
def test_parse_ip_literal_reads_legacy_and_bracketed_forms(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (None if parsed is None else str(parsed)) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("Example.COM.", "example.com"),
        ("[::FFFF:10.0.0.1]", "::ffff:a00:1"),
        ("news.example.org", "news.example.org"),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


NON_PUBLIC = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "IETF"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("100::1", "discard"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible form
    ("::10.0.0.1", "private"),
    ("::8.8.8.8", "reserved"),  # deprecated form: refused whatever it carries
    ("64:ff9b::127.0.0.1", "embedding 127.0.0.1"),
    ("64:ff9b::10.0.0.1", "embedding 10.0.0.1"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:7f00:1::1", "embedding 127.0.0.1"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "embedding 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001::1", "Teredo"),
]


@pytest.mark.parametrize(("address", "reason_part"), NON_PUBLIC)
def test_non_public_addresses_are_refused_with_their_class(address: str, reason_part: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    reason = non_public_reason(ip)
    assert reason is not None
    assert reason_part in reason


PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "151.101.1.140",
    "100.63.255.255",  # just below 100.64.0.0/10
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",  # mapped form of a public address is that address
    "64:ff9b::8.8.8.8",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert is_public_address(ip)
    assert non_public_reason(ip) is None


def test_refusal_message_names_address_and_class() -> None:
    private = ipaddress.ip_address("10.0.0.1")
    assert refusal_message(private) == "refused: 10.0.0.1 is a private address"
    assert (
        refusal_message(ipaddress.ip_address("10.0.0.5"), "evil.test")
        == "refused: evil.test resolves to 10.0.0.5, a private address"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example.com/rss", "https://news.example.com/rss"),
        ("  HTTP://News.Example.COM:80/feed?x=1#top ", "http://news.example.com/feed?x=1"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://bücher.de/feed", "http://xn--bcher-kva.de/feed"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0x7f.1/x", "http://127.0.0.1/x"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("http://feeds_host.example/", "http://feeds_host.example/"),
    ],
)
def test_validate_feed_url_normalizes(url: str, expected: str) -> None:
    assert validate_feed_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message_part"),
    [
        ("", "empty"),
        ("ftp://example.com/feed", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("javascript:alert(1)", "only http:// and https://"),
        ("gopher://127.0.0.1:25/", "only http:// and https://"),
        ("//example.com/feed", "relative"),
        ("example.com/feed", "only http:// and https://"),
        ("http:///feed", "no host"),
        ("http://user:secret@example.com/feed", "user name or password"),
        ("http://user@example.com/feed", "user name or password"),
        ("http://:@example.com/feed", "user name or password"),
        ("http://example.com:99999/", "cannot be parsed"),
        ("http://example.com:0/", "port 0"),
        ("http://exa mple.com/", "spaces"),
        ("http://example.com/\r\nX-Injected: 1", "control characters"),
        ("http://-bad-.example/", "not valid"),
        ("http://[fe80::1%25eth0]/", "zone"),
        ("http://example.com/" + "a" * MAX_URL_LENGTH, "longer than 2048"),
    ],
)
def test_validate_feed_url_refuses(url: str, message_part: str) -> None:
    with pytest.raises(InvalidFeedURL) as caught:
        validate_feed_url(url)
    assert message_part in str(caught.value)


def test_url_at_the_length_limit_is_accepted() -> None:
    prefix = "http://example.com/"
    url = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    assert validate_feed_url(url) == url


async def test_guarded_resolver_refuses_a_private_answer() -> None:
    guard = GuardedResolver(StubResolver(STUB_ANSWERS))
    with pytest.raises(BlockedAddress, match=re.escape("evil.test resolves to 10.0.0.5, a private")):
        await guard.resolve("evil.test", 80, socket.AF_UNSPEC)


async def test_guarded_resolver_refuses_when_any_answer_is_private() -> None:
    guard = GuardedResolver(StubResolver(STUB_ANSWERS))
    with pytest.raises(BlockedAddress, match=re.escape("10.0.0.7")):
        await guard.resolve("mixed.test", 80)


async def test_guarded_resolver_passes_public_answers_through() -> None:
    guard = GuardedResolver(StubResolver(STUB_ANSWERS))
    results = await guard.resolve("faraway.test", 443)
    assert [(r["host"], r["port"]) for r in results] == [(PUBLIC_STANDIN, 443)]


async def test_guarded_resolver_checks_every_lookup_so_rebinding_is_caught() -> None:
    stub = StubResolver(STUB_ANSWERS)
    guard = GuardedResolver(stub)
    await guard.check_url("http://rebind.test/feed")  # first answer: public
    with pytest.raises(BlockedAddress, match=re.escape("rebind.test resolves to 127.0.0.1, a loopback")):
        await guard.resolve("rebind.test", 80)  # the connect-time lookup
    assert stub.lookups == ["rebind.test", "rebind.test"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/feed", "refused: 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/", "refused: 169.254.169.254 is a link-local address"),
        ("http://2130706433/", "refused: 127.0.0.1 is a loopback address"),
        ("http://[::ffff:192.168.0.1]/", "is a private address"),
        ("http://evil.test/rss", "refused: evil.test resolves to 10.0.0.5, a private address"),
        ("http://metadata.test/", "cloud metadata"),
        ("http://mapped.test/", "resolves to ::ffff:7f00:1, a loopback address"),
    ],
)
async def test_check_url_refuses_naming_the_address_class(url: str, message: str) -> None:
    guard = GuardedResolver(StubResolver(STUB_ANSWERS))
    with pytest.raises(BlockedAddress) as caught:
        await guard.check_url(url)
    assert message in str(caught.value)


async def test_check_url_accepts_public_and_reports_unresolvable() -> None:
    guard = GuardedResolver(StubResolver(STUB_ANSWERS))
    await guard.check_url("https://faraway.test/feed")
    await guard.check_url("https://93.184.216.34/feed")
    with pytest.raises(FetchError, match=re.escape("cannot resolve nowhere.test")):
        await guard.check_url("https://nowhere.test/feed")
    with pytest.raises(InvalidFeedURL):
        await guard.check_url("ftp://faraway.test/feed")


def test_check_host_refuses_ip_literals_and_leaves_names() -> None:
    guard = GuardedResolver(StubResolver({}))
    guard.check_host("example.com")
    guard.check_host("8.8.8.8")
    with pytest.raises(BlockedAddress, match="loopback"):
        guard.check_host("0x7f.1")
    with pytest.raises(BlockedAddress, match="link-local"):
        guard.check_host("[fe80::1%25eth0]")
