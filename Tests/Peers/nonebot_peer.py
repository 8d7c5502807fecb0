#!/usr/bin/env python3
"""Peer test: NoneBot2 with nonebot-adapter-qq against `qqtui sim`.

    python nonebot_peer.py --base http://127.0.0.1:PORT --app-id 102000001 --secret qqtui-sim-secret

The adapter logs in (token, GET /gateway/bot, WS Hello/Identify/READY); the script then makes a
simulated user write in private and a member @-mention the bot in a group (control API), a matcher
replies to both with `bot.send(event, ...)` (msg_id + msg_seq 1), and GET /sim/sent must show both
replies with status 200. Prints one JSON line and exits 0; exits 1 with a message on the first
warning or error the adapter logs, on any failed check, or after 30 s.

Nothing in the adapter is patched: QQ_API_BASE and QQ_AUTH_BASE are its own settings.
"""
import argparse
import asyncio
import json
import sys
import urllib.request
from importlib.metadata import version

import nonebot
from nonebot.adapters.qq import Adapter, Bot, C2CMessageCreateEvent, GroupAtMessageCreateEvent

TIMEOUT = 30.0
USER = "PEERUSER" + "0" * 24
GROUP, MEMBER = "PEERGROUP" + "0" * 23, "PEERMEMBER" + "0" * 22

_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never a proxy


def control(base: str, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with _direct.open(req, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


def main(args) -> int:
    base = args.base.rstrip("/")
    problems = []  # warnings and errors the adapter logged
    trouble = asyncio.Event()

    def on_problem(message):
        problems.append(message.record["message"])
        trouble.set()

    nonebot.logger.remove()  # warnings and errors only, without tracebacks' variable dumps
    nonebot.logger.add(sys.stderr, level="WARNING", diagnose=False)
    nonebot.logger.add(on_problem, level="WARNING", format="{message}")
    nonebot.init(
        _env_file=None,
        driver="~httpx+~websockets",
        qq_api_base=base + "/",
        qq_auth_base=base + "/app/getAppAccessToken",
        qq_bots=[{"id": args.app_id, "secret": args.secret,
                  "intent": {"guilds": False, "guild_members": False, "guild_message_reactions": False,
                             "message_audit": False, "at_messages": False, "c2c_group_at_messages": True}}],
    )
    driver = nonebot.get_driver()
    driver.register_adapter(Adapter)

    connected, replied = asyncio.Event(), asyncio.Event()
    replies = {}  # "c2c" / "group" -> the API's answer, or the exception it raised
    outcome = {}

    @driver.on_bot_connect
    async def _(bot: Bot):
        connected.set()

    echo = nonebot.on_message(block=True)

    @echo.handle()
    async def _(bot: Bot, event: C2CMessageCreateEvent | GroupAtMessageCreateEvent):
        kind = "c2c" if isinstance(event, C2CMessageCreateEvent) else "group"
        try:
            replies[kind] = (await bot.send(event, "echo: " + event.get_plaintext().strip())).model_dump()
        except Exception as e:
            replies[kind] = e
        if len(replies) == 2:
            replied.set()

    async def scenario() -> dict:
        await connected.wait()
        c2c = await asyncio.to_thread(control, base, "POST", "/sim/c2c", {"user_openid": USER, "content": "hello nonebot"})
        grp = await asyncio.to_thread(control, base, "POST", "/sim/group", {
            "group_openid": GROUP, "member_openid": MEMBER, "content": "hi group", "mention_bot": True})
        await replied.wait()
        for kind, answer in replies.items():
            if not (isinstance(answer, dict) and answer.get("id")):
                raise RuntimeError(f"{kind} reply failed: {answer!r}")
        sent = await asyncio.to_thread(control, base, "GET", "/sim/sent")
        expected = {f"/v2/users/{USER}/messages": c2c["id"], f"/v2/groups/{GROUP}/messages": grp["id"]}
        for path, msg_id in expected.items():
            hits = [r for r in sent if r.get("path") == path and (r.get("body") or {}).get("msg_id") == msg_id]
            if not hits or hits[-1].get("status") != 200:
                raise RuntimeError(f"/sim/sent has no status-200 reply on {path} to {msg_id}: {hits or sent}")
        return {"peer": "nonebot-adapter-qq", "version": version("nonebot-adapter-qq"), "ok": True,
                "replies": {k: v["id"] for k, v in replies.items()}, "sent": len(sent)}

    async def supervise():
        run, watch = asyncio.ensure_future(scenario()), asyncio.ensure_future(trouble.wait())
        await asyncio.wait([run, watch], timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        watch.cancel()
        if run.done() and not run.exception():
            outcome["summary"] = run.result()
        elif run.done():
            outcome["error"] = f"{type(run.exception()).__name__}: {run.exception()}"
        elif problems:
            outcome["error"] = "the adapter logged: " + problems[0]
        else:
            outcome["error"] = (f"timed out after {TIMEOUT:.0f} s "
                                f"(connected={connected.is_set()}, replies={replies!r})")
        run.cancel()
        driver.exit()

    background = set()

    @driver.on_startup
    async def _():
        background.add(asyncio.create_task(supervise()))

    nonebot.run()
    if "summary" not in outcome:
        print(f"nonebot peer FAILED: {outcome.get('error', 'the driver stopped early')}", file=sys.stderr)
        return 1
    print(json.dumps(outcome["summary"], sort_keys=True))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="simulator base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--app-id", default="102000001")
    parser.add_argument("--secret", default="qqtui-sim-secret")
    sys.exit(main(parser.parse_args()))
