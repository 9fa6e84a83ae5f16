"""Test doubles at the network edge: a stub DNS resolver and a socket factory that
refuses to open any connection leaving the machine (so even a guard bug in a test
cannot send a packet anywhere but loopback), and a factory of FeedFetchers wired
to both."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address

from aiohttp.abc import AbstractResolver, ResolveResult

from bot.fetch.fetcher import FeedFetcher
from bot.fetch.limits import FetchLimits
from bot.fetch.netguard import AddressPolicy, IPAddress, is_public_address


class OffMachineConnection(AssertionError):
    """A test tried to open a socket to a non-loopback address."""


class LoopbackOnlySockets:
    """aiohttp ``socket_factory`` that records every connect target and refuses,
    by raising, any address that is not loopback."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    def __call__(self, addr_info: tuple[int, int, int, str, tuple[object, ...]]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        host = str(sockaddr[0])
        self.targets.append(host)
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise OffMachineConnection(f"test tried to connect to {host}")
        return socket.socket(family, type_, proto)


class StubResolver(AbstractResolver):
    """Answers only from ``answers``: host -> a list of answers, one per lookup
    (the last repeats), each answer a list of IP strings. Never touches real DNS."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        sequence = self._answers.get(host)
        if not sequence:
            raise OSError(f"stub resolver has no answer for {host}")
        count = self.lookups.count(host)
        addresses = sequence[min(count, len(sequence)) - 1]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


PUBLIC_STANDIN = "93.184.216.34"  # a public address that tests only resolve to, never reach

STUB_ANSWERS: dict[str, list[list[str]]] = {
    "public.test": [["127.0.0.1"]],
    "hosta.test": [["127.0.0.1"]],
    "hostb.test": [["127.0.0.1"]],
    "hostc.test": [["127.0.0.1"]],
    "evil.test": [["10.0.0.5"]],
    "mixed.test": [[PUBLIC_STANDIN, "10.0.0.7"]],
    "metadata.test": [["169.254.169.254"]],
    "mapped.test": [["::ffff:127.0.0.1"]],
    "faraway.test": [[PUBLIC_STANDIN]],
    "rebind.test": [[PUBLIC_STANDIN], ["127.0.0.1"]],
}


def loopback_counts_as_public(ip: IPAddress) -> bool:
    """Address policy for tests that exercise the guarded path against the local
    server: exactly 127.0.0.1 passes as public, everything else as in production."""
    return ip == IPv4Address("127.0.0.1") or is_public_address(ip)


class FetcherFactory:
    """Builds started FeedFetchers wired to stub DNS and loopback-only sockets."""

    def __init__(self) -> None:
        self.sockets = LoopbackOnlySockets()
        self._fetchers: list[FeedFetcher] = []

    async def __call__(
        self,
        limits: FetchLimits | None = None,
        *,
        allow_private: bool = False,
        is_allowed_address: AddressPolicy = is_public_address,
        resolver: StubResolver | None = None,
    ) -> FeedFetcher:
        fetcher = FeedFetcher(
            limits or FetchLimits(),
            allow_private=allow_private,
            resolver=resolver or StubResolver(STUB_ANSWERS),
            is_allowed_address=is_allowed_address,
            socket_factory=self.sockets,
        )
        await fetcher.start()
        self._fetchers.append(fetcher)
        return fetcher

    async def close(self) -> None:
        for fetcher in self._fetchers:
            await fetcher.close()
