"""Keys that say "seen this item before" and "same article", from parsed items alone.

Pure functions of their arguments: no I/O, no clock, no feedparser.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from types import MappingProxyType
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from bot.feeds.google_news import publisher_url
from bot.feeds.model import ParsedItem
from bot.feeds.text import clean_text

__all__ = [
    "article_key",
    "canonical_link",
    "guids_look_stable",
    "item_dedup_key",
    "publisher_url",
]

# Query parameters that only say where a click came from, never which page it is.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "mc_cid", "mc_eid", "igshid", "ref_src", "ref_url", "_hsenc", "_hsmi",
        "hsctatracking", "spm", "scm", "_ga", "_gl", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid", "ncid", "ocid",
        "sr_share", "cmpid", "cmp", "icid", "wt.mc_id", "wt.mc_ev", "_openstat",
        "__twitter_impression", "at_medium", "at_campaign", "at_custom1", "at_custom2",
        "at_custom3", "at_custom4", "at_link_id", "at_link_origin", "at_link_type",
        "at_ptr_name", "at_ptr_type", "at_format", "at_bbc_team",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")

_DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# Keys longer than this are hashed: a unique index cannot hold a 60 KB hostile guid.
MAX_KEY_VALUE_LENGTH = 512
# Guids made only of a few digits are list positions or counters, not identities.
_COUNTER_GUID = re.compile(r"\d{1,4}")


def _normalized_escapes(text: str) -> str:
    """Upper-case percent escapes and spaces escaped, so spellings of one URL agree."""
    return _PERCENT_ESCAPE.sub(lambda match: match.group().upper(), text).replace(" ", "%20")


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).strip().lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def _canonical_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, host_port = netloc.rpartition("@")
    if host_port.startswith("["):  # IPv6 literal: the port follows "]"
        close = host_port.find("]") + 1 or len(host_port)
        host, port_part = host_port[:close], host_port[close:]
    else:
        host, colon, port = host_port.partition(":")
        port_part = colon + port
    port = port_part[1:]
    if port_part and (not port or (port.isascii() and port.isdigit())):
        port_part = "" if not port or int(port) == _DEFAULT_PORTS[scheme] else f":{int(port)}"
    return f"{userinfo}{at}{host.lower()}{port_part}"


def _canonical_query(query: str) -> str:
    pairs = (pair for pair in query.split("&") if pair and not _is_tracking(pair))
    return "&".join(sorted(_normalized_escapes(pair) for pair in pairs))


def canonical_link(url: str) -> str:
    """One spelling per http(s) URL: lowercase scheme and host, no default port, no
    fragment, no tracking parameters, remaining parameters sorted. Idempotent.

    Anything that is not an http(s) URL with a host comes back merely stripped.
    """
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return stripped
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return stripped
    netloc = _canonical_netloc(parts.netloc, scheme)
    if not netloc:  # "http://:/x": no host after all
        return stripped
    canonical = urlunsplit(
        (
            scheme,
            netloc,
            _normalized_escapes(parts.path) or "/",
            _canonical_query(parts.query),
            "",
        )
    )
    # Exotic trailing whitespace (NBSP, U+2028...) would be stripped on the next call.
    return canonical.strip()


def _sha1_hex(text: str) -> str:
    # A fingerprint, not a security boundary: SHA-1 is short and stable.
    return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def _bounded(prefix: str, value: str) -> str:
    if len(value) <= MAX_KEY_VALUE_LENGTH:
        return prefix + value
    return f"{prefix}sha1:{_sha1_hex(value)}"


def _normalized_title(title: str) -> str:
    return clean_text(unicodedata.normalize("NFKC", title)).casefold()


def item_dedup_key(item: ParsedItem, *, guid_stable: bool) -> str:
    """The key under which a feed remembers ``item``.

    "g:<guid>" when the feed's guids are stable, else "l:<canonical link>", else
    "t:<sha1 of normalized title and publication day>". Neither guid nor link keys
    involve dates, so a publisher re-stamping pubDate/updated keeps the key. Values
    over MAX_KEY_VALUE_LENGTH characters are replaced by their SHA-1.
    """
    if guid_stable and item.guid:
        return _bounded("g:", item.guid)
    if item.link:
        return _bounded("l:", canonical_link(item.link))
    day = item.published.date().isoformat() if item.published else ""
    return "t:" + _sha1_hex(_normalized_title(item.title) + "\n" + day)


def article_key(item: ParsedItem) -> str | None:
    """The canonical URL of the article itself, shared by every feed that carries it.

    A search feed's decoded publisher URL wins over its redirect link, so an article
    found through Google News and through the publisher's own feed is one article.
    """
    link = item.source_url or item.link
    return canonical_link(link) if link else None


def guids_look_stable(guids: Sequence[str | None]) -> bool:
    """Whether a document's guids can identify its items across polls.

    No: when some item lacks one, when two items share one, or when several are
    short numeric counters (positions that shift as new items arrive).
    """
    present = [guid for guid in guids if guid]
    if len(present) != len(guids) or len(set(present)) != len(present):
        return False
    counters = sum(1 for guid in present if _COUNTER_GUID.fullmatch(guid))
    return counters < 2
