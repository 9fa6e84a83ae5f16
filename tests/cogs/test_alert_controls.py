"""The alert buttons' custom ids and labels, within Discord's limits, and nothing kept per alert."""

from __future__ import annotations

from typing import Any

from discord.ui.view import ViewStore

from bot.follow_service import MAX_ALERT_CHOICES, AlertChoice
from cogs.alert_controls import ChoiceButton, alert_view, choices_view

LARGEST_SNOWFLAKE = 2**63 - 1


def test_a_choice_button_fits_discords_limits_and_reads_back_its_custom_id() -> None:
    button = ChoiceButton("unfollow", LARGEST_SNOWFLAKE, MAX_ALERT_CHOICES - 1, "kardashian " * 30)
    custom_id = button.item.custom_id or ""
    match = ChoiceButton.__discord_ui_compiled_template__.fullmatch(custom_id)

    assert len(custom_id) <= 100 and len(button.item.label or "") <= 80
    assert button.item.label == ("Unfollow " + ("kardashian " * 30)[:60]).strip()
    assert match is not None
    assert (match["action"], int(match["message_id"]), int(match["index"])) == (
        "unfollow",
        LARGEST_SNOWFLAKE,
        MAX_ALERT_CHOICES - 1,
    )


def test_a_views_buttons_are_at_most_a_messages_25() -> None:
    choices = [AlertChoice(f"q{n}", following=n % 2 == 0) for n in range(MAX_ALERT_CHOICES)]

    view = choices_view(1, choices)

    assert len(view.children) == MAX_ALERT_CHOICES
    assert [c.custom_id for c in view.children[:2]] == ["sw:alert:unfollow:1:0", "sw:alert:follow:1:1"]  # type: ignore[attr-defined]


def test_sending_alerts_keeps_no_view_per_message() -> None:
    # discord.py stores a sent view per message unless every item is dynamic; a bot that
    # sends thousands of alerts a day would keep every one of them.
    store: Any = ViewStore(object())  # type: ignore[arg-type]
    for message_id in range(1, 101):
        store.add_view(alert_view(), message_id)
        store.add_view(choices_view(message_id, [AlertChoice("kim", following=True)]), 10_000 + message_id)

    assert store._views == {} and store._synced_message_views == {}
    assert len(store._dynamic_items) == 2
