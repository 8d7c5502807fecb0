#!/usr/bin/env python3
"""Benchmark peer: the official QQ Python SDK (qq-botpy) as the other client of `qqtui bench ... --against botpy`.

    python botpy_bench.py --base http://127.0.0.1:PORT --mode ingest|replies --count N --tag TAG

botpy logs in to the simulator exactly as botpy_peer.py does (only the hosts are changed) and prints
`{"ready": true}` once READY. The bench then starts a burst of C2C messages whose text begins with
TAG; this script counts them:

  * ingest: a handler that only counts (botpy still parses each event into a C2CMessage);
  * replies: each message is answered with `api.post_c2c_message(..., msg_id=message.id, msg_seq=1001)` (an echo),
    counting the answers the platform acknowledged (an id came back) and the ones that failed (with why).

It ends with one JSON line: received, replied, failed, and the wall-clock nanoseconds (CLOCK_REALTIME,
the clock the simulator stamps into each message) of the first and last counted event and of the last
acknowledged reply, and the CPU seconds the process had used (also given when READY). It stops when every message was counted (and, for replies, answered or failed),
or after --idle-s seconds without progress (what it saw until then is still reported).
"""
import argparse
import asyncio
import json
import logging
import os
import sys
import time

import botpy
from botpy.message import C2CMessage

from botpy_peer import point_botpy_at  # the same host changes as the peer test (this folder is on sys.path)


class BenchBot(botpy.Client):
    def __init__(self, args):
        super().__init__(intents=botpy.Intents(public_messages=True), timeout=30,
                         bot_log=None, ext_handlers=False, log_level=logging.CRITICAL)
        self.args = args
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.received = 0
        self.replied = 0
        self.failed = 0
        self.first_ns = 0
        self.last_ns = 0
        self.last_reply_ns = 0
        self.progress_at = time.monotonic()
        self.errors = {}

    async def on_ready(self):
        self.ready.set()

    def _check_done(self):
        self.progress_at = time.monotonic()
        finished = self.received >= self.args.count
        if self.args.mode == "replies":
            finished = finished and self.replied + self.failed >= self.args.count
        if finished:
            self.done.set()

    async def on_c2c_message_create(self, message: C2CMessage):
        if not message.content.startswith(self.args.tag):
            return
        now = time.time_ns()
        if self.received == 0:
            self.first_ns = now
        self.received += 1
        self.last_ns = now
        if self.args.mode == "replies":
            try:
                # Both clients answer the same msg_id as the same bot, and the platform refuses a
                # msg_seq used twice for one msg_id (40054005): botpy's default (1) would collide with
                # qqtui's, so it takes one qqtui never does. Two separate bots never share a msg_id.
                answer = await self.api.post_c2c_message(openid=message.author.user_openid, msg_type=0,
                                                         content="echo: " + message.content, msg_id=message.id,
                                                         msg_seq=PEER_MSG_SEQ)
                if isinstance(answer, dict) and answer.get("id"):
                    self.replied += 1
                    self.last_reply_ns = time.time_ns()
                else:
                    self.failed += 1
            except Exception as error:  # botpy raises on any non-2xx answer
                self.failed += 1
                reason = (type(error).__name__ + ": " + str(error))[:160]
                self.errors[reason] = self.errors.get(reason, 0) + 1
        self._check_done()


PEER_MSG_SEQ = 1001


async def main(args) -> int:
    point_botpy_at(args.base.rstrip("/"))
    bot = BenchBot(args)
    login = asyncio.ensure_future(bot.start(appid=args.app_id, secret=args.secret))
    ready = asyncio.ensure_future(bot.ready.wait())
    await asyncio.wait([login, ready], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        print(json.dumps({"ready": False, "error": "botpy did not reach READY in 30 s"}), flush=True)
        os._exit(1)
    print(json.dumps({"ready": True, "pid": os.getpid(), "cpu_s": time.process_time()}), flush=True)
    while not bot.done.is_set():
        try:
            await asyncio.wait_for(bot.done.wait(), timeout=1)
        except asyncio.TimeoutError:
            if bot.received and time.monotonic() - bot.progress_at > args.idle_s:
                break
    print(json.dumps({"received": bot.received, "replied": bot.replied, "failed": bot.failed,
                      "first_ns": bot.first_ns, "last_ns": bot.last_ns, "last_reply_ns": bot.last_reply_ns,
                      "version": botpy_version(), "cpu_s": time.process_time(),
                      "errors": dict(sorted(bot.errors.items(), key=lambda e: -e[1])[:5])}), flush=True)
    os._exit(0)  # botpy's shutdown adds nothing to measure


def botpy_version() -> str:
    from importlib.metadata import version
    return version("qq-botpy")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--app-id", default="102000001")
    parser.add_argument("--secret", default="qqtui-sim-secret")
    parser.add_argument("--mode", choices=["ingest", "replies"], required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--idle-s", type=float, default=15.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
