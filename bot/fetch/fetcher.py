"""Polite, bounded HTTP fetching of feed documents.

One ``FeedFetcher`` is built at startup and shared by every poll. It owns its
aiohttp sessions: a guarded one whose resolver is the SSRF guard (member-supplied
feeds) and an open one (operator-trusted feeds, or everything when the operator
sets ``allow_private``). Redirects are followed by hand so every hop is validated,
checked by the guard, counted and held to the same politeness slots.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.errors import (
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidFeedURL,
    TooManyRedirects,
)
from bot.fetch.failures import describe_client_error
from bot.fetch.headers import parse_cache_max_age, parse_http_date, parse_retry_after
from bot.fetch.limits import FetchLimits
from bot.fetch.netguard import (
    AddressPolicy,
    GuardedResolver,
    is_public_address,
    validate_feed_url,
)
from bot.fetch.politeness import HostSlots

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
_READ_CHUNK_BYTES = 64 * 1024


def accept_encoding() -> str:
    """The encodings aiohttp can undo here; br only when a brotli library is installed."""
    has_brotli = any(importlib.util.find_spec(name) for name in ("brotli", "brotlicffi"))
    return "gzip, deflate, br" if has_brotli else "gzip, deflate"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful exchange: 2xx with a body, or 304 Not Modified without one.

    ``etag``/``last_modified`` are the validators to store for the next
    conditional GET (on a 304 without new ones, the ones sent are kept).
    ``moved_to`` is set only when every hop was a permanent 301/308 redirect, so
    the caller may update the stored URL. ``elapsed`` is network time in seconds
    over all hops, excluding time queued for a politeness slot.
    """

    status: int
    body: bytes | None
    body_sha256: str | None
    etag: str | None
    last_modified: str | None
    final_url: str
    moved_to: str | None
    cache_max_age: int | None
    content_type: str | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    cache_control: str | None
    content_type: str | None


class FeedFetcher:
    """Fetches feed URLs within ``limits``; use ``async with`` or start()/close().

    ``resolver`` is the DNS resolver under the guard (aiohttp's default when None;
    a resolver passed in stays owned by the caller). ``is_allowed_address`` decides
    which addresses untrusted fetches may reach. ``socket_factory`` makes the
    sockets aiohttp connects with (tests use it as a last-line check that nothing
    leaves the machine).
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        allow_private: bool,
        resolver: AbstractResolver | None = None,
        is_allowed_address: AddressPolicy = is_public_address,
        socket_factory: aiohttp.SocketFactoryType | None = None,
    ) -> None:
        self._limits = limits
        self._allow_private = allow_private
        self._resolver = resolver
        self._is_allowed_address = is_allowed_address
        self._socket_factory = socket_factory
        self._host_slots = HostSlots(limits.per_host_concurrency)
        self._global_slots = asyncio.Semaphore(limits.global_concurrency)
        self._owned_resolver: AbstractResolver | None = None
        self._guard: GuardedResolver | None = None
        self._open_session: aiohttp.ClientSession | None = None
        self._guarded_session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._open_session is not None:
            raise RuntimeError("FeedFetcher already started")
        inner = self._resolver
        if inner is None:
            inner = self._owned_resolver = DefaultResolver()
        self._guard = GuardedResolver(inner, is_allowed_address=self._is_allowed_address)
        self._open_session = self._new_session(inner)
        if not self._allow_private:
            self._guarded_session = self._new_session(self._guard)

    async def close(self) -> None:
        for session in (self._guarded_session, self._open_session):
            if session is not None:
                await session.close()
        self._guarded_session = self._open_session = None
        if self._owned_resolver is not None:
            await self._owned_resolver.close()
            self._owned_resolver = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def tracked_hosts(self) -> int:
        """Hosts with a politeness slot right now (0 when idle)."""
        return len(self._host_slots)

    async def check_url(self, url: str) -> None:
        """The add-time check for a member-supplied URL (``/feeds add``).

        Raises InvalidFeedURL, BlockedAddress, or FetchError when the host does not
        resolve. With ``allow_private`` only the URL's shape is checked.
        """
        if self._allow_private:
            validate_feed_url(url)
            return
        await self._started_guard().check_url(url)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        trusted: bool = False,
    ) -> FetchResult:
        """GET ``url`` (conditionally when validators are given), following redirects.

        ``trusted`` fetches (the operator's own feeds) skip the SSRF guard on every
        hop. Raises the FetchError family, BlockedAddress or InvalidFeedURL.
        """
        guarded = not (trusted or self._allow_private)
        session = self._session(guarded)
        headers = _conditional_headers(etag, last_modified)
        current = validate_feed_url(url)
        seen = {current}
        redirects = 0
        all_permanent = True
        spent = 0.0
        while True:
            host = URL(current).raw_host or ""
            if guarded:
                self._started_guard().check_host(host)
            remaining = self._limits.total_timeout - spent
            if remaining <= 0:
                raise FetchTimeout(f"no complete response within {self._limits.total_timeout:g}s")
            async with self._host_slots.hold(host), self._global_slots:
                started = time.monotonic()
                try:
                    outcome = await self._exchange(session, current, host, headers, remaining)
                finally:
                    spent += time.monotonic() - started
            if isinstance(outcome, _Reply):
                return _result(
                    outcome,
                    final_url=current,
                    moved=redirects > 0 and all_permanent,
                    sent_etag=etag,
                    sent_last_modified=last_modified,
                    elapsed=spent,
                )
            target = _redirect_target(current, outcome)
            if target in seen:
                raise TooManyRedirects(f"redirect loop: {target} was already visited")
            redirects += 1
            if redirects > self._limits.max_redirects:
                raise TooManyRedirects(f"more than {self._limits.max_redirects} redirects")
            all_permanent = all_permanent and outcome.status in PERMANENT_REDIRECT_STATUSES
            seen.add(target)
            current = target

    def _new_session(self, resolver: AbstractResolver) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=resolver,
            limit=self._limits.global_concurrency,
            socket_factory=self._socket_factory,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,  # the whole-fetch deadline is enforced in fetch()
                connect=self._limits.connect_timeout,
                sock_connect=self._limits.connect_timeout,
            ),
            headers={
                "User-Agent": self._limits.user_agent,
                "Accept": FEED_ACCEPT,
                "Accept-Encoding": accept_encoding(),
            },
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie state shared between feeds
            trust_env=False,  # never route through an environment proxy
        )

    def _session(self, guarded: bool) -> aiohttp.ClientSession:
        session = self._guarded_session if guarded else self._open_session
        if session is None:
            raise RuntimeError("FeedFetcher.start() was not called")
        return session

    def _started_guard(self) -> GuardedResolver:
        if self._guard is None:
            raise RuntimeError("FeedFetcher.start() was not called")
        return self._guard

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        url: str,
        host: str,
        headers: dict[str, str],
        budget: float,
    ) -> _Reply | _Redirect:
        """One request/response, within ``budget`` seconds of network time."""
        try:
            async with (
                asyncio.timeout(budget),
                session.get(url, headers=headers, allow_redirects=False) as response,
            ):
                return await self._read_response(response)
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise FetchTimeout(f"connecting to {host} took over {self._limits.connect_timeout:g}s") from exc
            raise FetchTimeout(f"no complete response within {self._limits.total_timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(describe_client_error(exc, host)) from exc

    async def _read_response(self, response: aiohttp.ClientResponse) -> _Reply | _Redirect:
        status = response.status
        if status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location header")
            return _Redirect(status, location)
        if status != 304 and not 200 <= status < 300:
            raise _status_error(response)
        body = None if status == 304 else await self._read_body(response)
        return _Reply(
            status=status,
            body=body,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            cache_control=response.headers.get("Cache-Control"),
            content_type=response.headers.get("Content-Type"),
        )

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, refused as soon as it passes the size limit.

        aiohttp undoes Content-Encoding while streaming, so counting what
        ``response.content`` yields stops a gzip bomb after ~limit bytes of output.
        """
        limit = self._limits.max_body_bytes
        announced = response.content_length
        if announced is not None and announced > limit:
            raise BodyTooLarge(f"the server announced {announced} bytes, over the {limit} limit")
        body = bytearray()
        async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                response.close()  # stop the transfer now rather than draining it
                raise BodyTooLarge(f"the body is over the {limit}-byte limit")
        return bytes(body)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    # Stored validators came from servers; one with a line break would be refused by
    # aiohttp with a ValueError, so it is simply not sent.
    if etag and _is_header_safe(etag):
        headers["If-None-Match"] = etag
    if last_modified and _is_header_safe(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _is_header_safe(value: str) -> bool:
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def _redirect_target(current: str, redirect: _Redirect) -> str:
    try:
        joined = str(URL(current).join(URL(redirect.location)))
    except ValueError:
        shown = redirect.location[:100]
        raise InvalidFeedURL(f"refused redirect to an unparseable Location {shown!r}") from None
    try:
        return validate_feed_url(joined)
    except InvalidFeedURL as exc:
        raise InvalidFeedURL(f"refused redirect: {exc}") from None


def _status_error(response: aiohttp.ClientResponse) -> HTTPStatusError:
    status = response.status
    try:
        phrase = HTTPStatus(status).phrase  # never the server's own reason text
    except ValueError:
        phrase = "Unknown Status"
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        server_now = parse_http_date(response.headers.get("Date")) or datetime.now(UTC)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=server_now)
    message = f"HTTP {status} {phrase}"
    if status == 410:
        message += ": the feed was removed"
    if retry_after is not None:
        message += f" (retry after {retry_after:.0f}s)"
    return HTTPStatusError(status, message, retry_after=retry_after)


def _result(
    reply: _Reply,
    *,
    final_url: str,
    moved: bool,
    sent_etag: str | None,
    sent_last_modified: str | None,
    elapsed: float,
) -> FetchResult:
    not_modified = reply.status == 304
    return FetchResult(
        status=reply.status,
        body=reply.body,
        body_sha256=None if reply.body is None else hashlib.sha256(reply.body).hexdigest(),
        etag=reply.etag or (sent_etag if not_modified else None),
        last_modified=reply.last_modified or (sent_last_modified if not_modified else None),
        final_url=final_url,
        moved_to=final_url if moved else None,
        cache_max_age=parse_cache_max_age(reply.cache_control),
        content_type=reply.content_type,
        elapsed=elapsed,
    )
