"""The feed catalog: the packaged file is valid, and every kind of bad entry is named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.catalog import CATEGORIES, CatalogFeed, load_catalog
from bot.errors import ConfigError

PACKAGED = Path(__file__).resolve().parents[2] / "bot" / "data" / "catalog.toml"

GOOD_ENTRY = """
[[feeds]]
id = "{id}"
name = "Example {id}"
url = "https://{id}.example.com/feed/"
category = "news"
description = "An example feed."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_catalog_loads_and_is_curated() -> None:
    feeds = load_catalog()
    assert 20 <= len(feeds) <= 40
    assert len({f.id for f in feeds}) == len(feeds)
    assert len({f.url for f in feeds}) == len(feeds)
    assert {f.category for f in feeds} == set(CATEGORIES)
    assert all(f.url.startswith("https://") for f in feeds)
    assert all(f.name and f.description for f in feeds)


def test_packaged_catalog_is_the_file_in_the_repo() -> None:
    # The default path must read bot/data/catalog.toml, not some other copy.
    document = tomllib.loads(PACKAGED.read_text(encoding="utf-8"))
    assert [f.id for f in load_catalog()] == [entry["id"] for entry in document["feeds"]]
    assert load_catalog(PACKAGED) == load_catalog()


def test_an_edited_catalog_is_read_with_urls_normalized(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[feeds]]
        id = "my-feed-2"
        name = "  My Feed  "
        url = "HTTPS://News.Example.COM:443/rss#top"
        category = "film-tv"
        description = "Mine."
        """,
    )
    assert load_catalog(path) == [
        CatalogFeed(
            id="my-feed-2",
            name="My Feed",
            url="https://news.example.com/rss",
            category="film-tv",
            description="Mine.",
        )
    ]


def test_an_empty_catalog_is_allowed(tmp_path: Path) -> None:
    assert load_catalog(write(tmp_path, "# nothing curated yet\n")) == []


def entry(**changes: object) -> str:
    fields: dict[str, object] = {
        "id": "bad-one",
        "name": "Bad",
        "url": "https://bad.example.com/feed",
        "category": "music",
        "description": "d",
    }
    fields.update(changes)
    lines = ["[[feeds]]"]
    for key, value in fields.items():
        if value is not None:
            lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("bad_entry", "message"),
    [
        (entry(url="ftp://bad.example.com/feed"), r"'url' is not a usable http\(s\) feed URL"),
        (entry(url="not a url"), r"'url' is not a usable http\(s\) feed URL"),
        (entry(url="https://user:pw@bad.example.com/"), "user name or password"),
        (entry(category="sports"), "'category' must be one of .*not 'sports'"),
        (entry(id="Bad_One"), "'id' must be a slug"),
        (entry(id="double--hyphen"), "'id' must be a slug"),
        (entry(id="x" * 65), "'id' must be a slug"),
        (entry(name=None), "missing key 'name'"),
        (entry(description=None), "missing key 'description'"),
        (entry(name="   "), "'name' must be a non-empty string"),
        (entry(name=5), "'name' must be a non-empty string, not 5"),
        (entry(colour="red"), "unknown key 'colour'"),
    ],
)
def test_a_bad_entry_is_named_by_position_id_and_line(tmp_path: Path, bad_entry: str, message: str) -> None:
    text = GOOD_ENTRY.format(id="first") + GOOD_ENTRY.format(id="second") + bad_entry
    path = write(tmp_path, text)
    bad_line = text.splitlines().index("[[feeds]]", text.count("\n", 0, text.index(bad_entry)))
    with pytest.raises(ConfigError, match=message) as caught:
        load_catalog(path)
    text_of_error = str(caught.value)
    assert text_of_error.startswith(f"{path}: feeds[2]")
    assert f"at line {bad_line + 1}" in text_of_error
    assert "(id '" in text_of_error


def test_duplicate_ids_name_both_entries(tmp_path: Path) -> None:
    text = GOOD_ENTRY.format(id="same") + GOOD_ENTRY.format(id="other")
    text += GOOD_ENTRY.format(id="same").replace("same.example", "elsewhere.example")
    with pytest.raises(ConfigError, match=r"feeds\[2\] \(id 'same'\).*already used by feeds\[0\]"):
        load_catalog(write(tmp_path, text))


def test_duplicate_urls_are_refused_even_when_spelled_differently(tmp_path: Path) -> None:
    text = GOOD_ENTRY.format(id="one") + GOOD_ENTRY.format(id="two").replace(
        "https://two.example.com/feed/", "HTTPS://ONE.example.com:443/feed/"
    )
    with pytest.raises(ConfigError, match=r"feeds\[1\] \(id 'two'\).*already listed as 'one'"):
        load_catalog(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[feeds]]\nid = "a"\nname = \n', "Invalid value"),
        ('feeds = "not a list"\n', "'feeds' must be a list"),
        ('feeds = ["a string"]\n', r"feeds\[0\]: each entry must be a \[\[feeds\]\] table"),
        ('title = "x"\n', "unknown key 'title'"),
    ],
)
def test_malformed_documents_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_catalog(write(tmp_path, text))


def test_unreadable_or_non_utf8_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the feed catalog"):
        load_catalog(tmp_path / "missing.toml")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(GOOD_ENTRY.format(id="x").replace("An example", "Caf\xe9").encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_catalog(latin1)
