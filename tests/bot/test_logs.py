from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure_logging

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.secret-token-value"


@pytest.fixture(autouse=True)
def _restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("json_format", [False, True])
def test_token_never_reaches_the_log(json_format: bool) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", json_format=json_format, secrets=[TOKEN], stream=stream)
    log = logging.getLogger("t")
    log.info("token is %s", TOKEN, extra={"header": f"Bot {TOKEN}"})
    try:
        raise RuntimeError(f"login failed for {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    out = stream.getvalue()
    assert TOKEN not in out
    assert "[REDACTED]" in out and "boom" in out
    if json_format:
        assert all(json.loads(line) for line in out.strip().splitlines() if line.startswith("{"))


def test_extras_are_shown() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_format=False, stream=stream)
    logging.getLogger("t").info("polled", extra={"feed_id": 7})
    assert "feed_id=7" in stream.getvalue()
