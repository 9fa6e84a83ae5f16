"""REST: application command sync (global and per guild)."""

from __future__ import annotations

from tests.emulator import commands
from tests.emulator.api_error import ApiError
from tests.emulator.core import EmulatorCore
from tests.emulator.routing import ApiRequest, ApiResponse, RouteTable

NOT_YOUR_APPLICATION = 20012


def register(table: RouteTable, core: EmulatorCore) -> None:
    state = core.state

    def scope(req: ApiRequest) -> int | None:
        if req.snowflake("application_id") != state.application_id:
            raise ApiError(
                403,
                NOT_YOUR_APPLICATION,
                "You are not authorized to perform this action on this application",
            )
        if "guild_id" not in req.params:
            return None
        return state.api_guild(req.snowflake("guild_id")).id

    async def list_commands(req: ApiRequest) -> ApiResponse:
        return ApiResponse(body=list(state.commands.get(scope(req), [])))

    async def overwrite(req: ApiRequest) -> ApiResponse:
        return ApiResponse(body=commands.bulk_overwrite(state, scope(req), req.json))

    async def upsert(req: ApiRequest) -> ApiResponse:
        where = scope(req)
        name = req.body().get("name")
        existed = any(c["name"] == name for c in state.commands.get(where, []))
        stored = commands.upsert_one(state, where, req.body())
        return ApiResponse(status=200 if existed else 201, body=stored)

    async def delete(req: ApiRequest) -> ApiResponse:
        where = scope(req)
        command_id = str(req.snowflake("command_id"))
        current = state.commands.get(where, [])
        remaining = [c for c in current if c["id"] != command_id]
        if len(remaining) == len(current):
            raise ApiError(404, 10063, "Unknown application command")
        state.commands[where] = remaining
        return ApiResponse(status=204)

    for base in (
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ):
        table.add("GET", base, list_commands)
        table.add("PUT", base, overwrite)
        table.add("POST", base, upsert)
        table.add("DELETE", base + "/{command_id}", delete)
