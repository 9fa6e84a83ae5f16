"""Every exception Storywatch raises on purpose lives here.

StorywatchError
├── ConfigError            bad config.toml / environment; names the key and line
├── FeedError              anything wrong with one feed; never stops the others
│   ├── FetchError         the HTTP exchange failed
│   │   ├── FetchTimeout         connect/total timeout or a dripping server
│   │   ├── BodyTooLarge         body (decompressed) over the size limit
│   │   ├── TooManyRedirects     over the redirect limit, or a redirect loop
│   │   ├── HTTPStatusError      a non-success status (has .status, .retry_after)
│   │   └── BlockedAddress       SSRF guard: the URL reaches a non-public address
│   ├── InvalidFeedURL     not an http(s) URL, or unparseable
│   ├── FeedParseError     the document yields nothing usable
│   └── OpmlError          an OPML import is oversize, malformed, unsafe or not OPML
├── QueryError             a follow query that cannot be parsed (has .fragment)
├── LimitExceeded          a per-member/per-server limit was reached
├── NotAllowed             the server's settings or the member's rights forbid it
├── AdminError             an admin action that cannot be done as asked (says why)
└── DeliveryError          an alert could not be delivered (has .permanent)
    └── SendFailure        one Discord request failed (has .status, .code, .retry_after)
"""

from __future__ import annotations


class StorywatchError(Exception):
    """Base of every error Storywatch raises on purpose."""


class ConfigError(StorywatchError):
    """The configuration is invalid; the message names the key (and line)."""


class FeedError(StorywatchError):
    """One feed failed; the message is shown to admins as the feed's last error."""

    kind: str = "feed"


class FetchError(FeedError):
    kind = "fetch"


class FetchTimeout(FetchError):
    kind = "timeout"


class BodyTooLarge(FetchError):
    kind = "too_large"


class TooManyRedirects(FetchError):
    kind = "redirects"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class BlockedAddress(FetchError):
    kind = "blocked_address"


class InvalidFeedURL(FeedError):
    kind = "invalid_url"


class FeedParseError(FeedError):
    kind = "parse"


class OpmlError(FeedError):
    """An uploaded OPML file was refused; the message says why, for the member."""

    kind = "opml"


class QueryError(StorywatchError):
    """A query the parser refuses; ``fragment`` is the offending part of the input."""

    def __init__(self, message: str, fragment: str = "") -> None:
        super().__init__(message)
        self.fragment = fragment


class LimitExceeded(StorywatchError):
    """A configured limit (follows per member, feeds per server, rate) was reached."""


class NotAllowed(StorywatchError):
    """The server's settings or the member's permissions forbid this action."""


class DeliveryError(StorywatchError):
    """Sending an alert failed; ``permanent`` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class AdminError(StorywatchError):
    """An admin action that cannot be done as asked; the message says why."""


class SendFailure(DeliveryError):
    """A send that did not succeed, classified from the HTTP answer (or lack of one)."""

    def __init__(
        self, message: str, *, status: int | None, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, permanent=status in (403, 404))
        self.status = status  # None: timeout or connection error (the outcome is unknown)
        self.code = code
        self.retry_after = retry_after
