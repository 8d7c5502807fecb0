#!/usr/bin/env python3
"""Peer test: the official QQ Python SDK (qq-botpy) against `qqtui sim`.

    python botpy_peer.py --base http://127.0.0.1:PORT --app-id 102000001 --secret qqtui-sim-secret

botpy logs in (token, GET /users/@me, GET /gateway/bot, WS Hello/Identify/READY); the script then
makes a simulated user write in private and a member @-mention the bot in a group (control API),
the bot replies to both with msg_id (group: msg_seq 1), and GET /sim/sent must show both replies
with status 200. Prints one JSON line and exits 0; exits 1 with a message on the first error botpy
logs, on any failed check, or after 30 s.

The only change made to botpy is where it connects (it hard-codes the platform's hosts):
  * API base: botpy.http.Route.SCHEME / DOMAIN ("https", "api.sgroup.qq.com") -> the simulator.
  * Token URL: botpy.robot.Token.update_access_token posts to the string literal
    "https://bots.qq.com/app/getAppAccessToken", so botpy.robot's `aiohttp` is replaced by a shim
    whose ClientSession.post rewrites that prefix to the simulator. botpy still parses the answer.
The gateway URL comes from GET /gateway/bot, as on the real platform.
"""
import argparse
import asyncio
import json
import logging
import sys
import types
import urllib.request
from importlib.metadata import version
from urllib.parse import urlsplit

import aiohttp
import botpy
import botpy.http
import botpy.robot
from botpy.message import C2CMessage, GroupMessage

TIMEOUT = 30.0
USER = "PEERUSER" + "0" * 24
GROUP, MEMBER = "PEERGROUP" + "0" * 23, "PEERMEMBER" + "0" * 22


def point_botpy_at(base: str) -> None:
    url = urlsplit(base)
    botpy.http.Route.SCHEME = url.scheme
    botpy.http.Route.DOMAIN = botpy.http.Route.SANDBOX_DOMAIN = url.netloc

    class TokenSession:
        def __init__(self, *args, **kwargs):
            self._session = aiohttp.ClientSession(*args, **kwargs)

        def post(self, url, **kwargs):
            return self._session.post(url.replace("https://bots.qq.com", base, 1), **kwargs)

        async def close(self):
            await self._session.close()

    botpy.robot.aiohttp = types.SimpleNamespace(ClientSession=TokenSession, ClientTimeout=aiohttp.ClientTimeout)


_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never a proxy


def control(base: str, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with _direct.open(req, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


class ErrorWatch(logging.Handler):
    """Collects what botpy logs at ERROR (a failed request, a broken gateway frame, ...)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.seen = asyncio.Event()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())
        self.seen.set()


class PeerBot(botpy.Client):
    def __init__(self):
        super().__init__(intents=botpy.Intents(public_messages=True), timeout=5,
                         bot_log=None, ext_handlers=False, log_level=logging.WARNING)
        self.ready = asyncio.Event()
        self.replies = {}  # "c2c" / "group" -> the API's answer, or the exception it raised
        self.replied = asyncio.Event()

    async def on_ready(self):
        self.ready.set()

    async def _reply(self, kind, send):
        try:
            self.replies[kind] = await send()
        except Exception as e:  # botpy raises on any non-2xx
            self.replies[kind] = e
        if len(self.replies) == 2:
            self.replied.set()

    async def on_c2c_message_create(self, message: C2CMessage):
        await self._reply("c2c", lambda: self.api.post_c2c_message(
            openid=message.author.user_openid, msg_type=0, content="echo: " + message.content.strip(),
            msg_id=message.id))

    async def on_group_at_message_create(self, message: GroupMessage):
        await self._reply("group", lambda: self.api.post_group_message(
            group_openid=message.group_openid, msg_type=0, content="echo: " + message.content.strip(),
            msg_id=message.id, msg_seq=1))


async def scenario(bot: PeerBot, args) -> dict:
    login = asyncio.ensure_future(bot.start(appid=args.app_id, secret=args.secret))
    ready = asyncio.ensure_future(bot.ready.wait())
    await asyncio.wait([login, ready], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        login.result()  # re-raises botpy's login error, if any
        raise RuntimeError("botpy stopped before READY")
    c2c = await asyncio.to_thread(control, args.base, "POST", "/sim/c2c", {"user_openid": USER, "content": "hello botpy"})
    grp = await asyncio.to_thread(control, args.base, "POST", "/sim/group", {
        "group_openid": GROUP, "member_openid": MEMBER, "content": "hi group", "mention_bot": True})
    await bot.replied.wait()
    for kind, answer in bot.replies.items():
        if not (isinstance(answer, dict) and answer.get("id")):
            raise RuntimeError(f"{kind} reply failed: {answer!r}")
    sent = await asyncio.to_thread(control, args.base, "GET", "/sim/sent")
    expected = {f"/v2/users/{USER}/messages": c2c["id"], f"/v2/groups/{GROUP}/messages": grp["id"]}
    for path, msg_id in expected.items():
        hits = [r for r in sent if r.get("path") == path and (r.get("body") or {}).get("msg_id") == msg_id]
        if not hits or hits[-1].get("status") != 200:
            raise RuntimeError(f"/sim/sent has no status-200 reply on {path} to {msg_id}: {hits or sent}")
    login.cancel()
    return {"peer": "qq-botpy", "version": version("qq-botpy"), "ok": True, "bot": bot.robot.name,
            "replies": {k: v["id"] for k, v in bot.replies.items()}, "sent": len(sent)}


async def main(args) -> int:
    args.base = args.base.rstrip("/")
    point_botpy_at(args.base)
    errors = ErrorWatch()
    logging.getLogger("botpy").addHandler(errors)
    bot = PeerBot()
    run = asyncio.ensure_future(scenario(bot, args))
    watch = asyncio.ensure_future(errors.seen.wait())
    done, _ = await asyncio.wait([run, watch], timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    watch.cancel()
    await bot.close()
    if run.done() and not run.exception():
        print(json.dumps(run.result(), sort_keys=True))
        return 0
    if run.done():
        problem = f"{type(run.exception()).__name__}: {run.exception()}"
    elif errors.messages:
        problem = "botpy logged an error: " + errors.messages[0]
    else:
        problem = f"timed out after {TIMEOUT:.0f} s (ready={bot.ready.is_set()}, replies={bot.replies!r})"
    run.cancel()
    print(f"botpy peer FAILED: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="simulator base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--app-id", default="102000001")
    parser.add_argument("--secret", default="qqtui-sim-secret")
    sys.exit(asyncio.run(main(parser.parse_args())))
