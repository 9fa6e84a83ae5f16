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

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "ga_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "igshid",
        "ocid",
        "cmpid",
        "cmp",
        "ref",
        "ref_src",
        "referrer",
        "src",
        "source",
        "share",
        "smid",
        "smtyp",
        "rss",
        "feed",
        "yptr",
        "ito",
        "guccounter",
        "_ga",
        "s_cid",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    }
)
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Longer "links" are junk or hostile; they would bloat the stored fingerprint.
MAX_LINK_LENGTH = 2048


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def canonical_link(url: str | None) -> str | None:
    """``host/path?query`` in canonical form, or None for a missing/non-article link."""
    if not url or len(url) > MAX_LINK_LENGTH:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/amp"):
        path = path[: -len("/amp")]
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k))
    if not path and not query:
        return None
    encoded_query = urlencode(query)
    return f"{host}{path}?{encoded_query}" if encoded_query else f"{host}{path}"
