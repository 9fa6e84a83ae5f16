from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings, parse_settings

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_is_valid_and_commented() -> None:
    settings = load_settings(REPO / "config.toml", env={})
    assert settings.polling.interval_seconds == 300
    assert settings.database.url == "sqlite+aiosqlite:///storywatch.db"
    assert settings.feeds and all(f.url.startswith("https://") for f in settings.feeds)
    assert (REPO / "config.toml").read_text().count("#") > 20


def test_defaults_when_empty() -> None:
    settings = parse_settings("", "x.toml", {})
    assert settings.polling.min_interval == 300 and settings.polling.max_interval == 1200
    assert settings.discord.guild_ready_timeout == 2
    assert settings.discord.dev_guild_id is None


def test_environment_overrides() -> None:
    env = {
        "STORYWATCH_DATABASE_URL": "sqlite+aiosqlite:///other.db",
        "DISCORD_API_BASE": "http://127.0.0.1:1/api/v10",
    }
    settings = parse_settings('[database]\nurl = "sqlite+aiosqlite:///a.db"\n', "x.toml", env)
    assert settings.database.url == "sqlite+aiosqlite:///other.db"
    assert settings.discord.api_base == "http://127.0.0.1:1/api/v10"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[polling]\ninterval_seconds = 300\nintervall = 5\n",
            r"unknown key 'polling.intervall' \(line 3\)",
        ),
        (
            '[polling]\ninterval_seconds = "fast"\n',
            r"'polling.interval_seconds' must be a number.*\(line 2\)",
        ),
        (
            "[discord]\n\ndev_guild_id = 1.5\n",
            r"'discord.dev_guild_id' must be an integer.*\(line 3\)",
        ),
        ("[pollling]\nx = 1\n", r"unknown section or key 'pollling' \(line 1\)"),
        ("[polling]\ninterval_seconds = 0\n", r"'polling.interval_seconds' must be positive"),
        ("[polling]\ninterval_seconds = -3\n", r"must be positive"),
        ('[[feeds]]\nname = "a"\n', r"missing key 'feeds.url' \(line 1\)"),
        ('[[feeds]]\nname = "a"\nurl = "ftp://x"\n', r"'feeds\[0\].url' must be an http\(s\) URL"),
        (
            '[[feeds]]\nname = "a"\nurl = "http://x"\n[[feeds]]\nname = "b"\nurl = "http://x"\n',
            "listed twice",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "http://x"\n\n[[feeds]]\nname = "b"\nurll = "http://y"\n',
            r"unknown key 'feeds.urll' \(line 7\)",
        ),
        ('[alerts]\nstory_mode = "threads"\n', "story_mode"),
        ("[alerts]\nbundle_max = 11\n", r"'alerts.bundle_max' must be between 1 and 10 .*not 11"),
        ("[alerts]\nbundle_max = 0\n", r"'alerts.bundle_max' must be between 1 and 10"),
        ('[logging]\njson = "yes"\n', r"'logging.json' must be true or false"),
        ('[search_feeds]\ntemplate = "https://x/?q="\n', r"\{query\}"),
        ("[polling\n", "not valid TOML"),
        ("polling = 3\n", "must be a \\[polling\\] table"),
    ],
)
def test_bad_config_names_key_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(text, "x.toml", {})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[polling]\ninterval_seconds = 1\n")
    assert load_settings(None, env={"STORYWATCH_CONFIG": str(path)}).polling.interval_seconds == 1.0
