"""The command line, run in-process against real files, a real database and a feed server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.feed_server import FeedItem
from tests.support.threaded import feed_server_in_thread

TOKEN = "cli-test-token-0123456789"


def write_config(tmp_path: Path, feeds: list[tuple[str, str]], extra: str = "") -> Path:
    lines = [
        "[database]",
        f'url = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"',
        "[search_feeds]",
        "enabled = false",
        "[polling]",
        "timeout_seconds = 5",
        extra,
    ]
    for name, url in feeds:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_config_summarizes_and_never_prints_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    config = write_config(tmp_path, [("A", "https://a.test/rss")])
    assert main(["check-config", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "(valid)" in out and "A: https://a.test/rss" in out and "token: set in DISCORD_TOKEN" in out
    assert TOKEN not in out + err


def test_check_config_rejects_a_bad_key_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[polling]\ninterval_seconds = 60\nintervall = 1\n")
    assert main(["check-config", "--config", str(config)]) == 2
    _, err = capsys.readouterr()
    assert "unknown key 'polling.intervall' (line 3)" in err
    assert len(err.strip().splitlines()) == 1


def test_run_without_token_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run", "--config", str(write_config(tmp_path, []))]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "DISCORD_TOKEN" in err


def test_poll_once_reports_what_it_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with feed_server_in_thread() as server:
        good = server.set_feed("good.xml", [FeedItem("Headline", "https://n.test/1", "1", published=datetime.now(UTC))])
        bad = server.set_raw("bad.xml", b"nope", status=500)
        config = write_config(tmp_path, [("Good", good), ("Bad", bad)])
        assert main(["poll", "--once", "--config", str(config)]) == 0
        out, _ = capsys.readouterr()
        assert "baseline" in out and "1 new" in out
        assert "failed" in out and "500" in out
        assert "2 feeds polled, 1 failed" in out
        # A dry run changes nothing: the next run still sees a first (baseline) poll.
        assert main(["poll", "--once", "--config", str(config)]) == 0
        assert "1 new" in capsys.readouterr()[0]


def test_feeds_import_then_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with feed_server_in_thread() as server:
        one = server.set_feed("one.xml", [FeedItem("A", "https://n.test/a", "a")], title="One")
        two = server.set_feed("two.xml", [FeedItem("B", "https://n.test/b", "b")], title="Two")
        opml = tmp_path / "in.opml"
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
            f'<outline text="Folder"><outline text="One" xmlUrl="{one}"/><outline text="Two" xmlUrl="{two}"/></outline>'
            '<outline text="Mail" xmlUrl="mailto:x@y.z"/></body></opml>'
        )
        config = write_config(tmp_path, [], extra="[security]\nallow_private_feed_urls = true")
        assert main(["feeds", "import", str(opml), "--guild", "42", "--config", str(config)]) == 0
        out, _ = capsys.readouterr()
        assert "2 of 2 feeds added to server 42" in out and "skipped mailto:x@y.z" in out
        target = tmp_path / "out.opml"
        assert main(["feeds", "export", "--guild", "42", "-o", str(target), "--config", str(config)]) == 0
        exported = target.read_text()
        assert one in exported and two in exported and 'text="One"' in exported


def test_feeds_import_refuses_private_addresses_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<opml version="2.0"><head/><body><outline text="Meta" xmlUrl="http://169.254.169.254/latest"/></body></opml>'
    )
    config = write_config(tmp_path, [])
    assert main(["feeds", "import", str(opml), "--guild", "1", "--config", str(config)]) == 1
    out, _ = capsys.readouterr()
    assert "link-local" in out and "0 of 1 feeds added" in out
