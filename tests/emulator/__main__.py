"""Run the emulator standalone (for benchmarks): ``python -m tests.emulator --port N``.

Builds ``--guilds`` standard guilds, prints one JSON line with the URLs, token and ids,
then serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import signal

from tests.emulator.emulator import DiscordEmulator


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--guilds", type=int, default=1, help="standard guilds to build")
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--heartbeat-ms", type=int, default=41250)
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    emu = DiscordEmulator(
        args.token,
        rate_limits=not args.no_rate_limits,
        port=args.port,
        heartbeat_interval_ms=args.heartbeat_ms,
        record_requests=args.record,
    )
    guilds = [dataclasses.asdict(emu.standard_guild(f"Guild {i}")) for i in range(args.guilds)]
    await emu.start()
    info = {
        "api_base": emu.api_base,
        "gateway_url": emu.gateway_url,
        "token": emu.token,
        "application_id": emu.application_id,
        "guilds": guilds,
    }
    print(json.dumps(info), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main() -> None:
    asyncio.run(_serve(_parse_args()))


if __name__ == "__main__":
    main()
