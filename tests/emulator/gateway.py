"""The gateway websocket: HELLO/IDENTIFY/READY/GUILD_CREATE, heartbeats, RESUME, sharding.

Each IDENTIFY creates a session (sequence numbers + a backlog for RESUME). A session
outlives its socket for ``resume_window`` seconds so a reconnecting client can resume
and receive what it missed; events dispatched meanwhile are buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulator import intents as gw_intents
from tests.emulator.clock import EmulatorClock
from tests.emulator.payloads import guild_create_payload, member_payload, user_payload
from tests.emulator.recording import ChangeNotifier, Stats
from tests.emulator.state import EmulatorState

_log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_AUTH_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

BACKLOG_SIZE = 5000


class Connection:
    """One websocket; serializes sends so zlib-stream frames stay in order."""

    def __init__(self, ws: web.WebSocketResponse, compression: str | None) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compression == "zlib-stream" else None

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def send(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            try:
                if self._zlib is not None:
                    data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionResetError, RuntimeError):
                _log.debug("gateway send on a closing socket dropped")

    async def close(self, code: int, message: str = "") -> None:
        await self.ws.close(code=code, message=message.encode())


@dataclass
class GatewaySession:
    session_id: str
    shard: tuple[int, int] | None
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG_SIZE))
    connection: Connection | None = None
    ready: bool = False
    invalidated: bool = False
    disconnected_at: float | None = None
    presence: dict[str, Any] | None = None

    def covers(self, guild_id: int | None) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0  # DMs go to shard 0
        return (guild_id >> 22) % count == shard_id

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.open


@dataclass
class GatewayConfig:
    token: str
    heartbeat_interval_ms: int = 41250
    resume_window: float = 120.0
    allowed_privileged_intents: int = gw_intents.PRIVILEGED


class GatewayHub:
    def __init__(
        self,
        state: EmulatorState,
        config: GatewayConfig,
        *,
        clock: EmulatorClock,
        notifier: ChangeNotifier,
        stats: Stats,
        gateway_url: Callable[[], str],
        outage: Callable[[], bool],
    ) -> None:
        self.state = state
        self.config = config
        self.clock = clock
        self.notifier = notifier
        self.stats = stats
        self._gateway_url = gateway_url
        self._outage = outage
        self.sessions: dict[str, GatewaySession] = {}
        self.received: list[dict[str, Any]] = []  # every client frame except heartbeats
        self._connections: set[Connection] = set()

    # ----- websocket handling ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._outage():
            return web.Response(status=503, text="gateway unavailable (emulated outage)")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, request.query.get("compress"))
        self._connections.add(conn)
        session: GatewaySession | None = None
        try:
            hello = {"heartbeat_interval": self.config.heartbeat_interval_ms, "_trace": ["emu"]}
            await conn.send({"op": OP_HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await conn.close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    break
                session = await self._on_frame(conn, session, frame)
        finally:
            self._connections.discard(conn)
            if session is not None and session.connection is conn:
                session.connection = None
                session.disconnected_at = self.clock.now()
            self.notifier.notify()
        return ws

    async def _on_frame(
        self, conn: Connection, session: GatewaySession | None, frame: dict[str, Any]
    ) -> GatewaySession | None:
        op = frame.get("op")
        data = frame.get("d")
        if op == OP_HEARTBEAT:
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            return session
        self.received.append(frame)
        if op == OP_IDENTIFY:
            if session is not None:
                await conn.close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
                return session
            return await self._identify(conn, data or {})
        if op == OP_RESUME:
            return await self._resume(conn, data or {})
        if op == OP_REQUEST_MEMBERS:
            if session is not None:
                await self._request_members(session, data or {})
            return session
        if op == OP_PRESENCE:
            if session is not None:
                session.presence = data
            return session
        if op == OP_VOICE_STATE:
            return session
        await conn.close(CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
        return session

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> GatewaySession | None:
        if data.get("token") != self.config.token:
            await conn.close(CLOSE_AUTH_FAILED, "Authentication failed.")
            return None
        shard = _parse_shard(data.get("shard"))
        if data.get("shard") is not None and shard is None:
            await conn.close(CLOSE_INVALID_SHARD, "Invalid shard.")
            return None
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.close(CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return None
        if intents & gw_intents.PRIVILEGED & ~self.config.allowed_privileged_intents:
            await conn.close(CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return None
        self._forget_dead_sessions()
        session = GatewaySession(secrets.token_hex(16), shard, intents, data, connection=conn)
        self.sessions[session.session_id] = session
        self.stats.identifies += 1
        await self._send_event(session, "READY", self._ready_payload(session))
        for guild in list(self.state.guilds.values()):
            if guild.bot_present and session.covers(guild.id):
                await self._send_event(session, "GUILD_CREATE", self.guild_create(session, guild.id))
        session.ready = True
        self.notifier.notify()
        return session

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> GatewaySession | None:
        if data.get("token") != self.config.token:
            await conn.close(CLOSE_AUTH_FAILED, "Authentication failed.")
            return None
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or not self._resumable(session, seq):
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        old = session.connection
        session.connection = conn
        session.disconnected_at = None
        if old is not None and old is not conn and old.open:
            await old.close(CLOSE_UNKNOWN_ERROR, "Session resumed elsewhere.")
        for frame in list(session.backlog):
            if frame["s"] > (seq or 0):
                await conn.send(frame)
        self.stats.resumes += 1
        await self._send_event(session, "RESUMED", {"_trace": ["emu"]})
        session.ready = True
        self.notifier.notify()
        return session

    def _resumable(self, session: GatewaySession, seq: Any) -> bool:
        if session.invalidated or not isinstance(seq, int):
            return False
        since = session.disconnected_at
        gone_for = 0.0 if since is None else self.clock.now() - since
        if gone_for > self.config.resume_window:
            return False
        oldest = session.backlog[0]["s"] if session.backlog else session.seq + 1
        return seq + 1 >= oldest  # nothing the client missed has fallen out of the backlog

    async def _request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        raw_ids = data.get("guild_id")
        guild_ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        wanted = {int(u) for u in data.get("user_ids") or []}
        for raw in guild_ids:
            guild = self.state.guilds.get(int(str(raw))) if str(raw).isdigit() else None
            if guild is None:
                continue
            members = list(guild.members.values())
            if wanted:
                members = [m for m in members if m.user_id in wanted]
            elif query:
                members = [m for m in members if self.state.users[m.user_id].username.lower().startswith(query)]
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [member_payload(self.state, m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if wanted:
                found = {m.user_id for m in members}
                chunk["not_found"] = [str(u) for u in wanted - found]
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await self._send_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ----- payloads -------------------------------------------------------------------------

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        guilds = [
            {"id": str(g.id), "unavailable": True}
            for g in self.state.guilds.values()
            if g.bot_present and session.covers(g.id)
        ]
        payload: dict[str, Any] = {
            "v": 10,
            "user": user_payload(self.state.users[self.state.bot_user_id]),
            "guilds": guilds,
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._gateway_url(),
            "application": {"id": str(self.state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["emu"],
        }
        if session.shard is not None:
            payload["shard"] = list(session.shard)
        return payload

    def guild_create(self, session: GatewaySession, guild_id: int) -> dict[str, Any]:
        guild = self.state.guilds[guild_id]
        all_members = bool(session.intents & gw_intents.GUILD_PRESENCES)
        return guild_create_payload(self.state, guild, all_members=all_members)

    # ----- dispatching ----------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any], *, guild_id: int | None) -> int:
        """Send to every live or resumable session covering the guild; returns how many."""
        delivered = 0
        for session in list(self.sessions.values()):
            if not self._alive(session) or not session.covers(guild_id):
                continue
            if await self._send_event(session, event, data):
                delivered += 1
        self.notifier.notify()
        return delivered

    async def dispatch_per_session(
        self, event: str, build: Callable[[GatewaySession], dict[str, Any]], guild_id: int
    ) -> int:
        """Like dispatch, for payloads that depend on the session (GUILD_CREATE)."""
        delivered = 0
        for session in list(self.sessions.values()):
            alive = self._alive(session) and session.covers(guild_id)
            if alive and await self._send_event(session, event, build(session)):
                delivered += 1
        self.notifier.notify()
        return delivered

    def _forget_dead_sessions(self) -> None:
        """Drop sessions that can no longer resume, with their backlogs."""
        for session_id, session in list(self.sessions.items()):
            if not session.connected and not self._alive(session):
                del self.sessions[session_id]

    def _alive(self, session: GatewaySession) -> bool:
        if session.invalidated or (not session.ready and not session.connected):
            return False
        if session.connected or session.disconnected_at is None:
            return True  # open, or closed so recently that the handler has not noticed yet
        return self.clock.now() - session.disconnected_at <= self.config.resume_window

    async def _send_event(self, session: GatewaySession, event: str, data: dict[str, Any]) -> bool:
        needed = gw_intents.required_intent(event, data)
        if needed and not session.intents & needed:
            return False
        with_content = session.intents & gw_intents.MESSAGE_CONTENT
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not with_content:
            data = gw_intents.strip_content(data, self.state.bot_user_id)
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.backlog.append(frame)
        if session.connection is not None:
            await session.connection.send(frame)
        return True

    def ready_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.ready and s.connected]

    # ----- control --------------------------------------------------------------------------

    async def disconnect_all(self, code: int = CLOSE_UNKNOWN_ERROR) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await conn.close(code, "Disconnected by the emulator.")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every live socket (the client should RESUME)."""
        for session in list(self.sessions.values()):
            if session.connection is not None:
                await session.connection.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_sessions(self) -> None:
        """Send INVALID_SESSION(false): clients must IDENTIFY again."""
        for session in list(self.sessions.values()):
            session.invalidated = True
            if session.connection is not None:
                await session.connection.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})


def _parse_shard(raw: Any) -> tuple[int, int] | None:
    if not isinstance(raw, list) or len(raw) != 2:
        return None
    shard_id, count = raw
    if not isinstance(shard_id, int) or not isinstance(count, int):
        return None
    if count < 1 or not 0 <= shard_id < count:
        return None
    return (shard_id, count)
