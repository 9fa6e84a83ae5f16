"""Canonical form of an article link, so the same article seen twice compares equal.

Two links are the same article when they differ only in: scheme (http/https), a
leading "www."/"m."/"amp." host label, default port, letter case of the host,
a trailing slash, a fragment, an "/amp" suffix, or tracking query parameters
(utm_*, fbclid, ...). Other query parameters are kept (sorted), because some sites
identify the article by them (?id=123).

A link with no path (a site's home page) is not an article link: bad feeds give the
home page for every item, and treating that as "same story" would merge everything.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.feeds import dedup

# Parameters that never identify an article, beyond the click trackers the dedup key
# already drops (feeds.dedup.TRACKING_PARAMETERS): grouping may be looser than dedup.
_STORY_ONLY_PARAMS = frozenset(
    {"ref", "referrer", "src", "source", "share", "smid", "smtyp", "rss", "feed", "yptr", "ito", "guccounter"}
)
_STORY_ONLY_PREFIXES = ("mc_", "at_", "ga_", "ns_")
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
# Longer "links" are junk or hostile; they would bloat the stored fingerprint.
MAX_LINK_LENGTH = 2048


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _STORY_ONLY_PARAMS or lowered.startswith(_STORY_ONLY_PREFIXES)


def canonical_link(url: str | None) -> str | None:
    """``host/path?query`` in canonical form, or None for a missing/non-article link.

    Builds on the dedup key's canonical link (scheme, case, default port, fragment,
    click trackers) and folds further what only grouping may ignore: scheme, mobile
    and AMP hosts, trailing slashes and "/amp" paths, referral parameters.
    """
    if not url or len(url) > MAX_LINK_LENGTH:
        return None
    try:
        parts = urlsplit(dedup.canonical_link(url))
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return None
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    if port is not None:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/amp"):
        path = path[: -len("/amp")]
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k))
    if not path and not query:
        return None
    encoded_query = urlencode(query)
    return f"{host}{path}?{encoded_query}" if encoded_query else f"{host}{path}"
