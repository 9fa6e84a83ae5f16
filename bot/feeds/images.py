"""Which of an item's media URLs is a picture, and the first <img> of its HTML."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp", ".svg")

# A regex, not a parser: the first <img> must be found without parsing a whole 800 KB
# article. The HTML is raw (feedparser's sanitizer is off): an <img> inside a comment or a
# script can at worst pick a wrong picture, and only an http(s) URL is ever kept.
_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def is_image_media(url: str, mime_type: str | None, medium: str | None) -> bool:
    """Whether a media:content / enclosure entry is a picture.

    The declared medium or type decides; untyped entries are judged by extension.
    """
    if medium:
        return medium.lower() == "image"
    if mime_type:
        return mime_type.lower().startswith("image/")
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return path.endswith(_IMAGE_EXTENSIONS)


def first_img_src(fragment: str) -> str | None:
    """The ``src`` of the first <img> in an HTML fragment, as written (maybe relative)."""
    for match in _IMG_SRC.finditer(fragment):
        source = html.unescape(next(group for group in match.groups() if group is not None))
        if source.strip():
            return source.strip()
    return None
