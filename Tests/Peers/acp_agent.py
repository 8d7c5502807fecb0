"""A fixture ACP agent on the official Python SDK (agent-client-protocol 0.12.1) for ACPAgentTests.

Behaviour is keyed on the first word of the prompt text:
  (default)   streams "echo: <prompt>" in small chunks (CJK text two characters at a time)
  slow        50 chunks 100 ms apart; honours session/cancel (one late chunk, then stopReason cancelled)
  tool        text, a tool_call (+ update, usage_update, plan), more text
  permission  asks session/request_permission and says in its text what it got
  crash       writes to stderr and exits with code 3 mid-stream
  hang        never answers the prompt and ignores session/cancel
  think       agent_thought_chunk before the text
  fs          calls fs/read_text_file (the client advertises no fs) and reports the error
Every received method is appended as one JSON line to the file named by ACP_FIXTURE_LOG.
ACP_FIXTURE_PROTOCOL overrides the protocolVersion it answers with; ACP_FIXTURE_IMAGES=0 turns off
promptCapabilities.image.
"""

import asyncio
import json
import os
import sys
import uuid

import acp
from acp.schema import (
    AgentCapabilities,
    InitializeResponse,
    NewSessionResponse,
    PermissionOption,
    PromptCapabilities,
    PromptResponse,
    ToolCallUpdate,
    UsageUpdate,
)


def log(method, **fields):
    path = os.environ.get("ACP_FIXTURE_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"pid": os.getpid(), "method": method, **fields}, ensure_ascii=False) + "\n")


def chunks(text):
    """Words with their trailing space; runs of non-ASCII text two characters at a time."""
    out, word = [], ""
    for ch in text:
        word += ch
        if ch == " " or (ord(ch) > 127 and len(word) >= 2):
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return out


class FixtureAgent(acp.Agent):
    def __init__(self):
        self.conn = None
        self.cancelled = {}

    def on_connect(self, conn):
        self.conn = conn

    async def initialize(self, protocol_version, client_capabilities=None, client_info=None, **kwargs):
        caps = client_capabilities.model_dump(by_alias=True) if client_capabilities else None
        info = client_info.model_dump(by_alias=True) if client_info else None
        log("initialize", protocolVersion=protocol_version, clientCapabilities=caps, clientInfo=info)
        version = int(os.environ.get("ACP_FIXTURE_PROTOCOL", "1"))
        images = os.environ.get("ACP_FIXTURE_IMAGES", "1") == "1"
        return InitializeResponse(
            protocol_version=version,
            agent_capabilities=AgentCapabilities(prompt_capabilities=PromptCapabilities(image=images)),
        )

    async def new_session(self, cwd, mcp_servers=None, **kwargs):
        sid = "sess_" + uuid.uuid4().hex[:8]
        log("session/new", cwd=cwd, mcpServers=[s.model_dump() for s in (mcp_servers or [])], sessionId=sid)
        self.cancelled[sid] = asyncio.Event()
        return NewSessionResponse(session_id=sid)

    async def cancel(self, session_id, **kwargs):
        log("session/cancel", sessionId=session_id)
        self.cancelled.setdefault(session_id, asyncio.Event()).set()

    async def say(self, sid, text):
        await self.conn.session_update(sid, acp.update_agent_message(acp.text_block(text)))

    async def prompt(self, session_id, prompt, **kwargs):
        text = "".join(b.text for b in prompt if getattr(b, "type", "") == "text")
        images = [{"mimeType": b.mime_type, "bytes": len(b.data)} for b in prompt if getattr(b, "type", "") == "image"]
        log("session/prompt", sessionId=session_id, text=text, images=images)
        cancel = self.cancelled.setdefault(session_id, asyncio.Event())
        cancel.clear()
        words = text.split()
        key = words[0] if words else ""
        handler = getattr(self, "turn_" + key, None) if key.isalpha() else None
        reason = await (handler(session_id, cancel) if handler else self.turn_echo(session_id, text, cancel))
        log("prompt_done", sessionId=session_id, stopReason=reason)
        return PromptResponse(stop_reason=reason)

    async def turn_echo(self, sid, text, cancel):
        for piece in chunks("echo: " + text):
            if cancel.is_set():
                return "cancelled"
            await self.say(sid, piece)
            await asyncio.sleep(0.01)
        return "end_turn"

    async def turn_slow(self, sid, cancel):
        for i in range(50):
            if cancel.is_set():
                # The protocol allows updates between the cancel and the reply; they must not become text.
                await self.say(sid, "late words after the cancel")
                return "cancelled"
            await self.say(sid, f"chunk{i} ")
            try:
                await asyncio.wait_for(cancel.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        return "end_turn"

    async def turn_tool(self, sid, cancel):
        await self.say(sid, "before the tool. ")
        await self.conn.session_update(sid, acp.start_tool_call("call_1", "Read notes.txt", kind="read", status="pending"))
        await self.conn.session_update(sid, acp.update_plan([acp.plan_entry("read the notes")]))
        await asyncio.sleep(0.02)
        await self.conn.session_update(sid, acp.update_tool_call("call_1", status="completed"))
        await self.conn.session_update(sid, UsageUpdate(session_update="usage_update", used=1200, size=200000))
        await self.say(sid, "after the tool.")
        return "end_turn"

    async def turn_permission(self, sid, cancel):
        await self.conn.session_update(sid, acp.start_tool_call("call_p", "Delete cache", kind="delete", status="pending"))
        options = [
            PermissionOption(option_id="allow", name="Allow once", kind="allow_once"),
            PermissionOption(option_id="reject", name="Reject", kind="reject_once"),
        ]
        response = await self.conn.request_permission(
            session_id=sid, tool_call=ToolCallUpdate(tool_call_id="call_p", title="Delete cache"), options=options
        )
        outcome = response.outcome.outcome
        option = getattr(response.outcome, "option_id", None)
        log("permission_outcome", outcome=outcome, optionId=option, cancelSeen=cancel.is_set())
        if outcome == "cancelled" or cancel.is_set():
            return "cancelled"
        verdict = "allowed" if option == "allow" else "denied"
        await self.say(sid, f"permission {verdict}")
        return "end_turn"

    async def turn_crash(self, sid, cancel):
        await self.say(sid, "about to crash ")
        await asyncio.sleep(0.05)
        sys.stderr.write("fixture: fatal error, the model went away\n")
        sys.stderr.flush()
        os._exit(3)

    async def turn_hang(self, sid, cancel):
        await self.say(sid, "hanging ")
        await asyncio.Event().wait()

    async def turn_think(self, sid, cancel):
        await self.conn.session_update(sid, acp.update_agent_thought_text("let me think about it"))
        await self.conn.session_update(sid, acp.update_agent_thought_text(" some more"))
        await self.say(sid, "the answer")
        return "end_turn"

    async def turn_fs(self, sid, cancel):
        try:
            await self.conn.read_text_file(session_id=sid, path="/etc/hostname")
            result = "fs read succeeded"
        except acp.RequestError as e:
            result = f"fs error {e.code}"
        log("fs_result", result=result)
        await self.say(sid, result)
        return "end_turn"


if __name__ == "__main__":
    asyncio.run(acp.run_agent(FixtureAgent()))
