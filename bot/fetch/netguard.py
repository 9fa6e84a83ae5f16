"""The SSRF guard: which URLs and addresses a member-supplied feed may reach.

A feed URL given by a server member must not make the bot talk to the host's own
network (loopback, private ranges, cloud metadata at 169.254.169.254, ...). The
check happens where the address is actually chosen: ``GuardedResolver`` sits in
the aiohttp connector, so the addresses a connection is opened to are exactly the
ones the guard approved (a DNS answer that changes between the add-time check and
the fetch, "DNS rebinding", is checked again). aiohttp does not consult the
resolver for IP-literal hosts, so the fetcher calls ``GuardedResolver.check_host``
on every hop before connecting.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.errors import BlockedAddress, FetchError, InvalidFeedURL

IPAddress = IPv4Address | IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

MAX_URL_LENGTH = 2048

# Hostname after IDNA encoding: letters, digits, hyphens, underscores (seen in the wild), dots.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")

_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")

# First match wins, so narrower blocks come before the blocks that contain them.
# Each row names the class shown to the member when a URL is refused.
_NON_PUBLIC_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/32", "an unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("169.254.169.254/32", "a link-local address (cloud metadata service)"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a deprecated 6to4 relay address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "a broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_NON_PUBLIC_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), label)
    for net, label in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:db8::/32", "a documentation address"),
        ("2001::/23", "an IETF protocol assignment address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a unique-local address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
        ("::/8", "a reserved address"),
    )
)

# Forms that carry an IPv4 address in their low bits; that address is what the
# traffic finally reaches, so it must be public too.
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated ::a.b.c.d; :: and ::1 excluded below


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes, or None when it is a name.

    Accepts what resolvers accept, not only canonical forms: bracketed IPv6 with an
    optional zone id (``[fe80::1%25eth0]``), and the legacy inet_aton IPv4 forms
    ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``0x7f.1`` (each part
    decimal, octal with a leading 0, or hex with 0x; the last part fills the
    remaining bytes). A single trailing dot is ignored.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].replace("%25", "%")
        return _parse_ipv6(text)
    if ":" in text:
        return _parse_ipv6(text.replace("%25", "%"))
    return _parse_legacy_ipv4(text)


def _parse_ipv6(text: str) -> IPv6Address | None:
    try:
        return IPv6Address(text)
    except ValueError:
        return None


def _parse_legacy_ipv4(text: str) -> IPv4Address | None:
    if text.endswith("."):
        text = text[:-1]
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _parse_ipv4_part(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return IPv4Address(value)


def _parse_ipv4_part(part: str) -> int | None:
    if not part.isascii():
        return None
    lowered = part.lower()
    if lowered.startswith("0x"):
        digits, base = lowered[2:], 16
        if digits == "":
            return 0  # inet_aton and WHATWG both read a bare "0x" as zero
    elif len(lowered) > 1 and lowered.startswith("0"):
        digits, base = lowered[1:], 8
    else:
        digits, base = lowered, 10
    if digits == "" or not all(c in "0123456789abcdef"[:base] for c in digits):
        return None
    return int(digits, base)


def normalize_host(host: str) -> str:
    """Canonical form of a URL host: an IP literal in standard notation, else the
    name lower-cased without the trailing dot. Expects the URL parser's ASCII
    (IDNA-encoded) host."""
    ip = parse_ip_literal(host)
    if ip is not None:
        return str(ip)
    return host.strip().lower().rstrip(".")


def non_public_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address ("a private address"), or None.

    Python's ``is_global`` is used as a final net, but the explicit tables decide
    first because, on 3.11, ``is_global`` calls multicast and site-local addresses
    global and IPv4-mapped IPv6 (``::ffff:8.8.8.8``) non-global.
    """
    if isinstance(ip, IPv4Address):
        return _non_public_v4_reason(ip)
    plain = IPv6Address(ip.packed)  # drop any zone id for the lookups
    if plain.ipv4_mapped is not None:
        return _non_public_v4_reason(plain.ipv4_mapped)
    embedded = _embedded_ipv4(plain)
    if embedded is not None:
        reason = _non_public_v4_reason(embedded)
        if reason is not None:
            return f"an address embedding {embedded}, {reason}"
        if plain in _NAT64_WELL_KNOWN:
            return None  # a public IPv4 via DNS64/NAT64; the ::/8 row below would refuse it
    for network, label in _NON_PUBLIC_V6:
        if plain in network:
            return label
    if plain.is_private or plain.is_reserved or not plain.is_global:
        return "a non-public address"
    return None


def _non_public_v4_reason(ip: IPv4Address) -> str | None:
    for network, label in _NON_PUBLIC_V4:
        if ip in network:
            return label
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a NAT64, 6to4 or IPv4-compatible form of ``ip`` carries.

    Teredo (2001::/32) needs no unpacking: the table refuses the whole block, as it
    also refuses IPv4-compatible forms (inside ::/8) whatever address they carry.
    """
    if ip in _NAT64_WELL_KNOWN or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return IPv4Address(ip.packed[-4:])
    return ip.sixtofour


def is_public_address(ip: IPAddress) -> bool:
    """True only for public unicast addresses a member-supplied feed may reach."""
    return non_public_reason(ip) is None


def refusal_message(ip: IPAddress, host: str | None = None) -> str:
    """The member-facing refusal, e.g. ``refused: 10.0.0.1 is a private address``."""
    reason = non_public_reason(ip) or "an address this bot may not reach"
    if host is None or parse_ip_literal(host) is not None:
        return f"refused: {ip} is {reason}"
    return f"refused: {host} resolves to {ip}, {reason}"


def validate_feed_url(url: str) -> str:
    """Check a feed URL's shape and return its normalized form.

    Normalized: scheme and host lower-cased, IDNA host, legacy IPv4 forms written as
    dotted quads, default port and fragment dropped. Raises InvalidFeedURL naming
    the problem. Reachability is the guard's job (``GuardedResolver.check_url``).
    """
    text = url.strip()
    if not text:
        raise InvalidFeedURL("the URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidFeedURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _SPACE_OR_CONTROL.search(text):
        raise InvalidFeedURL("the URL contains spaces or control characters")
    try:
        parsed = URL(text)
        port = parsed.explicit_port
    except ValueError as exc:
        raise InvalidFeedURL(f"the URL cannot be parsed ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "a relative URL"
        raise InvalidFeedURL(f"only http:// and https:// feed URLs are allowed, not {shown}")
    raw_host = parsed.raw_host
    if not raw_host:
        raise InvalidFeedURL("the URL has no host name")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise InvalidFeedURL("the URL must not contain a user name or password")
    if port == 0:
        raise InvalidFeedURL("the URL has an invalid port 0")
    ip = parse_ip_literal(raw_host)
    if isinstance(ip, IPv6Address) and ip.scope_id is not None:
        raise InvalidFeedURL("IPv6 zone ids are not supported in feed URLs")
    host = normalize_host(raw_host)
    if ip is None and not _HOSTNAME.fullmatch(host):
        raise InvalidFeedURL(f"the host name {raw_host!r} is not valid")
    normalized = str(parsed.with_fragment(None).with_host(host))
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidFeedURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    return normalized


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses hosts resolving to a disallowed address.

    Wraps ``inner`` (aiohttp's default resolver when None; then it must be built
    inside a running event loop) and raises BlockedAddress when ANY resolved address
    fails ``is_allowed_address``: a name with one private answer is refused outright,
    so round-robin or rebinding answers cannot sneak a private address in.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        is_allowed_address: AddressPolicy = is_public_address,
    ) -> None:
        self._owns_inner = inner is None
        self._inner: AbstractResolver = DefaultResolver() if inner is None else inner
        self._is_allowed = is_allowed_address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                ip = ipaddress.ip_address(result["host"])
            except ValueError:
                raise BlockedAddress(f"refused: {host} resolved to an unreadable address") from None
            if not self._is_allowed(ip):
                raise BlockedAddress(refusal_message(ip, host))
        return results

    def check_host(self, host: str) -> None:
        """Refuse an IP-literal host that is not allowed; names are left to resolve()."""
        ip = parse_ip_literal(host)
        if ip is not None and not self._is_allowed(ip):
            raise BlockedAddress(refusal_message(ip))

    async def check_url(self, url: str) -> None:
        """The add-time check: validate ``url`` and resolve its host now.

        Raises InvalidFeedURL, BlockedAddress (message names the address class), or
        FetchError when the host does not resolve.
        """
        parsed = URL(validate_feed_url(url))
        host = parsed.raw_host
        assert host is not None  # validate_feed_url guarantees a host
        if parse_ip_literal(host) is not None:
            self.check_host(host)
            return
        try:
            await self.resolve(host, parsed.port or 0, socket.AF_UNSPEC)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host} ({exc.strerror or exc})") from None

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()
