"""The emulator against a real, unmodified discord.py bot running in this event loop."""

from __future__ import annotations

import asyncio
import io
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.emulator import DiscordEmulator, EmulatorUsageError, Perm, StandardGuild

MESSAGE_WINDOW = 1.0  # shorter than Discord's 5 s so the rate-limit test stays quick
EPHEMERAL = 64


class FollowView(discord.ui.View):
    @discord.ui.button(label="Unfollow", custom_id="unfollow")
    async def unfollow(self, interaction: discord.Interaction, _: discord.ui.Button[FollowView]) -> None:
        await interaction.response.edit_message(content="Unfollowed", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    remark: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Remark", custom_id="remark")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks for: {self.remark.value}", ephemeral=True)


def build_bot() -> commands.Bot:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)

    @bot.tree.command(name="follow", description="Follow a news story")
    @app_commands.describe(query="Words the story must mention")
    async def follow(interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(f"Following **{query}**", ephemeral=True)
        await interaction.followup.send(f"First alerts for {query} soon", ephemeral=True)
        await interaction.edit_original_response(content=f"Now following **{query}**")

    @follow.autocomplete("query")
    async def follow_suggestions(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        topics = ["election", "earthquake", "eurozone", "olympics"]
        return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    @bot.tree.command(name="panel", description="Show the follow panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Your follows", view=FollowView())

    @bot.tree.command(name="digest", description="Build a digest (slow, so deferred)")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("Digest: 3 stories moved today")

    @bot.tree.command(name="import", description="Import feeds from an OPML file")
    async def import_feeds(interaction: discord.Interaction, opml: discord.Attachment) -> None:
        body = await opml.read()
        echoed = discord.File(io.BytesIO(body.upper()), filename="imported.opml")
        await interaction.response.send_message(f"Read {len(body)} bytes", file=echoed)

    @bot.tree.command(name="feedback", description="Tell us something")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    return bot


@dataclass
class Running:
    bot: commands.Bot
    guild: StandardGuild


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    emulator = DiscordEmulator(message_rate=(5, MESSAGE_WINDOW))
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def pointed_at_emulator(emu: DiscordEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", emu.api_base)
    gateway = yarl.URL(emu.gateway_url)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", gateway)


@pytest.fixture
async def running(emu: DiscordEmulator, pointed_at_emulator: None) -> AsyncIterator[Running]:
    guild = emu.standard_guild()
    bot = build_bot()
    task = asyncio.create_task(bot.start(emu.token))
    await emu.wait_ready(timeout=10)
    await asyncio.wait_for(bot.wait_until_ready(), timeout=10)
    yield Running(bot, guild)
    await bot.close()
    await asyncio.wait_for(task, timeout=10)
    assert emu.unknown_requests == [], [(r.method, r.path) for r in emu.unknown_requests]


async def sync_to_guild(running: Running) -> None:
    guild = discord.Object(running.guild.guild_id)
    running.bot.tree.copy_global_to(guild=guild)
    await running.bot.tree.sync(guild=guild)


def text_channel(running: Running, channel_id: int) -> discord.TextChannel:
    channel = running.bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_login_ready_and_guild_create_build_the_bot_cache(emu: DiscordEmulator, running: Running) -> None:
    bot, ids = running.bot, running.guild
    assert bot.user is not None
    assert bot.user.id == emu.bot_user_id
    guild = bot.get_guild(ids.guild_id)
    assert guild is not None
    assert {c.name for c in guild.text_channels} == {"news", "general"}
    assert guild.system_channel is not None
    assert guild.system_channel.id == ids.system_channel_id
    assert guild.owner_id == ids.owner_id
    assert guild.me.guild_permissions.send_messages
    assert not guild.me.guild_permissions.manage_guild
    identify = next(f for f in emu.gateway_frames if f["op"] == 2)["d"]
    assert identify["token"] == emu.token
    assert identify["intents"] == discord.Intents.default().value
    assert emu.connected
    assert emu.requests[0].path == "/users/@me"
    assert "Authorization" not in emu.requests[0].headers


async def test_commands_sync_to_a_guild_and_globally(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    await running.bot.tree.sync()
    guild_commands = {c["name"]: c for c in emu.commands(running.guild.guild_id)}
    global_commands = {c["name"]: c for c in emu.commands()}
    assert (
        set(guild_commands)
        == set(global_commands)
        == {
            "follow",
            "panel",
            "digest",
            "import",
            "feedback",
        }
    )
    option = guild_commands["follow"]["options"][0]
    assert (option["name"], option["type"], option["autocomplete"]) == ("query", 3, True)
    assert guild_commands["follow"]["guild_id"] == str(running.guild.guild_id)
    first_id = global_commands["follow"]["id"]
    await running.bot.tree.sync()  # re-sync keeps ids, as on Discord
    assert {c["name"]: c for c in emu.commands()}["follow"]["id"] == first_id


async def test_slash_command_ephemeral_reply_followup_and_edit(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    alice = ids.member_ids[0]
    interaction = await emu.slash_command(ids.guild_id, ids.news_channel_id, alice, "follow", {"query": "election"})
    response = await interaction.wait_response()
    assert response["type"] == 4
    assert response["data"]["flags"] & EPHEMERAL
    assert interaction.ephemeral
    followups = await interaction.wait_followups(1)
    assert followups[0]["content"] == "First alerts for election soon"
    edits = await interaction.wait_original_edits(1)
    assert edits[0]["content"] == "Now following **election**"
    assert interaction.original is not None
    assert interaction.original["content"] == "Now following **election**"
    assert "Now following **election**" in interaction.text()
    assert emu.messages(ids.news_channel_id) == []  # ephemeral: nothing in the channel


async def test_unsynced_command_is_a_clear_error(emu: DiscordEmulator, running: Running) -> None:
    ids = running.guild
    with pytest.raises(EmulatorUsageError, match="not synced"):
        await emu.slash_command(ids.guild_id, ids.news_channel_id, ids.owner_id, "follow", {})


async def test_autocomplete_round_trip(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    interaction = await emu.autocomplete(
        ids.guild_id, ids.news_channel_id, ids.member_ids[1], "follow", {"query": "e"}, "query"
    )
    response = await interaction.wait_response()
    assert response["type"] == 8
    assert [c["value"] for c in interaction.autocomplete_choices or []] == [
        "election",
        "earthquake",
        "eurozone",
    ]


async def test_button_click_updates_the_message(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    command = await emu.slash_command(ids.guild_id, ids.general_channel_id, ids.owner_id, "panel")
    await command.wait_response()
    assert command.original is not None
    click = await emu.click_component(command.original, "unfollow", ids.owner_id)
    response = await click.wait_response()
    assert response["type"] == 7
    updated = emu.messages(ids.general_channel_id)[0]
    assert updated["content"] == "Unfollowed"
    assert updated["components"] == []


async def test_deferred_reply_is_replaced_by_the_first_followup(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    interaction = await emu.slash_command(ids.guild_id, ids.news_channel_id, ids.owner_id, "digest")
    response = await interaction.wait_response()
    assert response == {"type": 5, "data": {"flags": EPHEMERAL}}
    followups = await interaction.wait_followups(1)
    assert interaction.original is not None
    assert followups[0]["id"] == interaction.original["id"]  # no second message
    assert interaction.original["content"] == "Digest: 3 stories moved today"
    assert interaction.original["flags"] == EPHEMERAL  # loading flag cleared, ephemeral kept


async def test_attachment_option_and_multipart_file_reply(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    opml = b'<opml version="2.0"><body><outline xmlUrl="http://127.0.0.1/x"/></body></opml>'
    interaction = await emu.slash_command(
        ids.guild_id, ids.news_channel_id, ids.owner_id, "import", {"opml": ("feeds.opml", opml)}
    )
    await interaction.wait_response()
    assert interaction.original is not None
    assert interaction.original["content"] == f"Read {len(opml)} bytes"
    callback = await emu.wait_for_request("POST", r"^/interactions/\d+/[^/]+/callback$")
    assert [(f.field, f.filename) for f in callback.files] == [("files[0]", "imported.opml")]
    attachment = interaction.original["attachments"][0]
    async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as resp:
        assert await resp.read() == opml.upper()


async def test_modal_round_trip(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    command = await emu.slash_command(ids.guild_id, ids.news_channel_id, ids.owner_id, "feedback")
    assert (await command.wait_response())["type"] == 9
    assert command.modal is not None
    assert command.modal["title"] == "Feedback"
    submit = await emu.submit_modal(command, {"remark": "more science news"})
    await submit.wait_response()
    assert submit.text() == "Thanks for: more science news"
    assert submit.ephemeral


async def test_send_with_embed_and_allowed_mentions(emu: DiscordEmulator, running: Running) -> None:
    ids = running.guild
    alice = ids.member_ids[0]
    channel = text_channel(running, ids.news_channel_id)
    embed = discord.Embed(title="Quake hits coast", description="Three outlets report")
    embed.add_field(name="Sources", value="3")
    quiet = await channel.send(f"<@{alice}> new coverage", embed=embed, allowed_mentions=discord.AllowedMentions.none())
    loud = await channel.send(f"<@{alice}> again", allowed_mentions=discord.AllowedMentions(users=True))
    stored = emu.messages(ids.news_channel_id)
    assert [m["id"] for m in stored] == [str(quiet.id), str(loud.id)]
    assert stored[0]["embeds"][0]["title"] == "Quake hits coast"
    assert stored[0]["embeds"][0]["fields"] == [{"name": "Sources", "value": "3", "inline": True}]
    assert stored[0]["mentions"] == []
    assert [u["id"] for u in stored[1]["mentions"]] == [str(alice)]
    assert emu.allowed_mentions(quiet.id) == {"parse": []}
    sent = [r for r in emu.requests if r.method == "POST" and r.route == "/channels/{channel_id}/messages"]
    assert sent[0].json["allowed_mentions"] == {"parse": []}


async def test_nonce_with_enforce_nonce_is_deduplicated(emu: DiscordEmulator, running: Running) -> None:
    channel = text_channel(running, running.guild.news_channel_id)
    first = await channel.send("Alert: eurozone talks", nonce=424242)
    second = await channel.send("Alert: eurozone talks", nonce=424242)
    assert first.id == second.id
    assert len(emu.messages(channel.id)) == 1
    assert emu.stats.nonce_deduplicated == 1
    emu.advance_time(emu.config.nonce_window + 1)  # past the dedupe window: a new message
    third = await channel.send("Alert: eurozone talks", nonce=424242)
    assert third.id != first.id
    assert len(emu.messages(channel.id)) == 2


async def test_injected_429_is_retried_by_discord_py(emu: DiscordEmulator, running: Running) -> None:
    channel = text_channel(running, running.guild.news_channel_id)
    emu.fail_next("POST", r"^/channels/\d+/messages$", 429, retry_after=0.1)
    message = await channel.send("after a rate limit")
    statuses = [r.status for r in emu.requests if r.path == f"/channels/{channel.id}/messages"]
    assert statuses == [429, 200]
    limited = next(r for r in emu.requests if r.status == 429)
    assert limited.response == {
        "message": "You are being rate limited.",
        "retry_after": 0.1,
        "global": False,
    }
    assert limited.response_headers["Retry-After"] == "1"
    assert emu.messages(channel.id)[0]["id"] == str(message.id)
    assert emu.stats.injected_failures == 1


async def test_injected_403_and_404_surface_as_discord_errors(emu: DiscordEmulator, running: Running) -> None:
    channel = text_channel(running, running.guild.news_channel_id)
    emu.fail_next("POST", r"/messages$", 403, {"message": "Missing Permissions", "code": 50013})
    with pytest.raises(discord.Forbidden) as forbidden:
        await channel.send("nope")
    assert forbidden.value.code == 50013
    emu.fail_next("POST", r"/messages$", 404, {"message": "Unknown Channel", "code": 10003})
    with pytest.raises(discord.NotFound) as not_found:
        await channel.send("nope")
    assert not_found.value.code == 10003
    assert emu.messages(channel.id) == []


async def test_real_permission_and_dm_failures(emu: DiscordEmulator, running: Running) -> None:
    ids = running.guild
    emu.set_bot_channel_permissions(ids.news_channel_id, deny=Perm.SEND_MESSAGES)
    await emu.channel_update(ids.news_channel_id)
    news = text_channel(running, ids.news_channel_id)
    with pytest.raises(discord.Forbidden) as missing_permissions:
        await news.send("alert")
    assert missing_permissions.value.code == 50013
    emu.set_bot_channel_permissions(ids.general_channel_id, deny=Perm.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as missing_access:
        await text_channel(running, ids.general_channel_id).send("alert")
    assert missing_access.value.code == 50001
    bob = ids.member_ids[1]
    emu.close_dms(bob)
    user = await running.bot.fetch_user(bob)
    with pytest.raises(discord.Forbidden) as closed_dms:
        await user.send("your digest")
    assert closed_dms.value.code == 50007
    with pytest.raises(discord.Forbidden) as cannot_manage:
        await text_channel(running, ids.news_channel_id).edit(name="x")
    assert cannot_manage.value.code == 50013


async def test_over_long_content_is_rejected_with_form_errors(emu: DiscordEmulator, running: Running) -> None:
    channel = text_channel(running, running.guild.news_channel_id)
    with pytest.raises(discord.HTTPException) as invalid:
        await channel.send("x" * 2001)
    assert (invalid.value.status, invalid.value.code) == (400, 50035)
    assert "content" in invalid.value.text


async def test_rate_limit_on_burst_from_two_clients_all_messages_arrive(emu: DiscordEmulator, running: Running) -> None:
    # One discord.py client reads X-RateLimit-Remaining and waits before the limit; a second
    # client on the same token (another process or shard) cannot, so the burst of six hits 429.
    channel = text_channel(running, running.guild.news_channel_id)
    other = discord.Client(intents=discord.Intents.none())
    await other.login(emu.token)
    try:
        other_channel = await other.fetch_channel(channel.id)
        assert isinstance(other_channel, discord.TextChannel)
        await asyncio.gather(
            *(channel.send(f"bot {i}") for i in range(3)),
            *(other_channel.send(f"other {i}") for i in range(3)),
        )
    finally:
        await other.close()
    posts = [r for r in emu.requests if r.path == f"/channels/{channel.id}/messages"]
    limited = [r for r in posts if r.status == 429]
    assert limited, "six quick sends in one channel should meet the 5-per-window limit"
    assert limited[0].response_headers["X-RateLimit-Scope"] == "user"
    assert emu.stats.rate_limited == len(limited)
    assert sorted(m["content"] for m in emu.messages(channel.id)) == sorted(
        [f"bot {i}" for i in range(3)] + [f"other {i}" for i in range(3)]
    )
    ok_times = sorted(r.time for r in posts if r.status == 200)
    assert ok_times[5] - ok_times[0] > MESSAGE_WINDOW / 2  # the sixth waited for a new window


async def test_thread_from_message_then_post_in_it(emu: DiscordEmulator, running: Running) -> None:
    channel = text_channel(running, running.guild.news_channel_id)
    root = await channel.send("Story: eurozone talks")
    thread = await root.create_thread(name="eurozone talks")
    assert thread.id == root.id  # Discord reuses the message id
    await thread.send("Update: a second outlet reports")
    assert [m["content"] for m in emu.messages(thread.id)] == ["Update: a second outlet reports"]
    await emu.wait_for(lambda: running.bot.get_channel(thread.id) is not None)  # THREAD_CREATE
    await thread.edit(archived=True)
    await thread.send("Update: archived threads reopen on send")
    assert emu.core.state.channels[thread.id].archived is False
    assert emu.message(root.id) is not None
    assert emu.message(root.id)["thread"]["id"] == str(thread.id)  # type: ignore[index]


async def test_gateway_resume_after_disconnect(emu: DiscordEmulator, running: Running) -> None:
    await sync_to_guild(running)
    ids = running.guild
    await emu.disconnect_all()
    await emu.wait_for(lambda: emu.stats.resumes >= 1 and emu.connected)
    assert emu.stats.identifies == 1
    interaction = await emu.slash_command(
        ids.guild_id, ids.news_channel_id, ids.owner_id, "follow", {"query": "olympics"}
    )
    assert (await interaction.wait_response())["type"] == 4


async def test_wrong_token_is_a_login_failure(emu: DiscordEmulator, pointed_at_emulator: None) -> None:
    client = discord.Client(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
    assert emu.requests[-1].status == 401
    assert emu.requests[-1].response == {"message": "401: Unauthorized", "code": 0}


async def test_rest_answers_use_the_exact_json_content_type(emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(emu.api_base + "/users/@me") as resp:
            assert resp.status == 401
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "401: Unauthorized", "code": 0}
        auth = {"Authorization": f"Bot {emu.token}"}
        async with session.get(emu.api_base + "/no/such/route", headers=auth) as resp:
            assert resp.status == 404
    assert [r.path for r in emu.unknown_requests] == ["/no/such/route"]


async def test_outage_and_delays(emu: DiscordEmulator) -> None:
    ids = emu.standard_guild()
    auth = {"Authorization": f"Bot {emu.token}"}
    url = f"{emu.api_base}/channels/{ids.news_channel_id}/messages"
    async with aiohttp.ClientSession() as session:
        await emu.set_outage(True)
        async with session.get(emu.api_base + "/users/@me", headers=auth) as resp:
            assert resp.status == 503
        await emu.set_outage(False)
        emu.delay_next("POST", r"/messages$", 0.2, apply=False)
        async with session.post(url, json={"content": "slow"}, headers=auth) as resp:
            assert resp.status == 504
        assert emu.messages(ids.news_channel_id) == []
        emu.delay_next("POST", r"/messages$", 0.2, apply=True)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await session.post(url, json={"content": "late but real"}, headers=auth)
        message = await emu.wait_for_message(ids.news_channel_id, timeout=5)
        assert message["content"] == "late but real"


async def test_raw_gateway_zlib_stream_bad_token_and_sharding(emu: DiscordEmulator) -> None:
    # Pick guild ids so each of two shards owns exactly one guild.
    even = emu.add_guild("Shard zero", guild_id=(1000 << 22) | 1)
    odd = emu.add_guild("Shard one", guild_id=(1001 << 22) | 1)
    url = emu.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            inflate = zlib.decompressobj()
            hello = json.loads(inflate.decompress(await ws.receive_bytes()))
            assert hello["op"] == 10
            assert hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1}})
            closing = await ws.receive()
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == 4004
        for shard_id, expected in ((0, even), (1, odd)):
            async with session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
                assert (await ws.receive_json())["op"] == 10
                identify = {"token": emu.token, "intents": 1, "shard": [shard_id, 2]}
                await ws.send_json({"op": 2, "d": identify})
                ready = await ws.receive_json()
                assert ready["t"] == "READY"
                assert ready["s"] == 1
                assert [g["id"] for g in ready["d"]["guilds"]] == [str(expected)]
                guild_create = await ws.receive_json()
                assert (guild_create["t"], guild_create["d"]["id"]) == (
                    "GUILD_CREATE",
                    str(expected),
                )
                await ws.send_json({"op": 1, "d": 2})
                assert (await ws.receive_json())["op"] == 11


def test_consecutive_guilds_spread_over_shards() -> None:
    emu = DiscordEmulator()  # never started: builders only touch state
    guilds = [emu.standard_guild(f"G{i}").guild_id for i in range(6)]
    first = (guilds[0] >> 22) % 3
    assert [(g >> 22) % 3 for g in guilds] == [(first + i) % 3 for i in range(6)]
