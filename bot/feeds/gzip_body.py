"""Bodies that are themselves gzip files (not HTTP Content-Encoding) are unpacked here.

Some servers send a ``.xml.gz`` file, or gzip twice, so the body still starts with the
gzip magic after the fetcher has undone Content-Encoding. We decompress it, but never
beyond ``max_bytes``: a few KB of gzip can expand to gigabytes.
"""

from __future__ import annotations

import zlib

from bot.errors import FeedParseError

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_DECOMPRESSED_BYTES = 10 * 1024 * 1024
_CHUNK = 64 * 1024


def gunzip_if_compressed(body: bytes, *, max_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> bytes:
    """``body`` decompressed when it is a gzip file, else ``body`` unchanged.

    Raises FeedParseError when the gzip data is corrupt or would expand past
    ``max_bytes``. Concatenated gzip members are joined, as gzip(1) does.
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    output = bytearray()
    remaining = body
    try:
        while remaining.startswith(GZIP_MAGIC):
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            pending = remaining
            while not decompressor.eof:
                # max_length bounds each step, so a bomb never materialises in memory.
                chunk = decompressor.decompress(pending, _CHUNK)
                if not chunk and decompressor.unconsumed_tail == pending:
                    break  # no input left to make progress with: truncated
                pending = decompressor.unconsumed_tail
                output += chunk
                if len(output) > max_bytes:
                    raise FeedParseError(f"gzip-compressed body expands beyond {max_bytes} bytes; refused")
            if not decompressor.eof:
                raise FeedParseError("gzip-compressed body is truncated")
            remaining = decompressor.unused_data
    except zlib.error as error:
        raise FeedParseError(f"gzip-compressed body is corrupt: {error}") from error
    return bytes(output)
