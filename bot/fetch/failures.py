"""Short, admin-facing sentences for aiohttp failures (no tracebacks, no URLs with
query strings that might carry tokens: only the host is named)."""

from __future__ import annotations

import os

import aiohttp


def describe_client_error(exc: aiohttp.ClientError, host: str) -> str:
    """One line saying what went wrong talking to ``host``."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {host}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {host} is not valid"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"the TLS handshake with {host} failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {host} ({_os_reason(exc.os_error)})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the response body from {host} was cut off or badly encoded"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{host} sent a malformed HTTP response"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"aiohttp refused the URL for {host}"
    if isinstance(exc, aiohttp.ClientConnectionError):
        return f"the connection to {host} failed"
    return f"the request to {host} failed ({type(exc).__name__})"


def _os_reason(error: OSError) -> str:
    # asyncio's strerror embeds the socket address; the errno's own text does not.
    if error.errno is not None:
        return os.strerror(error.errno).lower()
    return type(error).__name__
