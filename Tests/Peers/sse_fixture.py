"""An OpenAI-compatible chat completions server with scripted misbehaviour, for the openai agent tests.

Stdlib only. Listens on 127.0.0.1 with an ephemeral port and prints the port as its first stdout line.
The request's "model" picks the mode (see MODES). GET /_state returns what the server saw:
{"disconnects": n, "completed": n, "requests": n, "last_request": {...}}. Exits when its parent dies.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"disconnects": 0, "completed": 0, "requests": 0, "last_request": None}
LOCK = threading.Lock()


def chunk(delta=None, finish=None, **extra):
    body = {"id": "chatcmpl-fixture", "object": "chat.completion.chunk", "model": "fixture",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    body.update(extra)
    return "data: " + json.dumps(body, ensure_ascii=False) + "\n\n"


def usage(choices):
    return "data: " + json.dumps({"id": "chatcmpl-fixture", "choices": choices,
                                  "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}) + "\n\n"


DONE = "data: [DONE]\n\n"

# mode -> list of (event text, delay after it in seconds); "slow" splits a character's bytes across writes.
MODES = {
    "normal": [(chunk({"role": "assistant"}), 0), (chunk({"content": "ok"}), 0), (chunk(finish="stop"), 0),
               (usage([]), 0), (DONE, 0)],
    "slow": [(chunk({"content": f"第{i}段 "}), 0.1) for i in range(20)] + [(chunk(finish="stop"), 0), (DONE, 0)],
    # 20 s of answer: still streaming when a loaded test machine gets round to taking it back.
    "long": [(chunk({"content": f"第{i}段 "}), 0.1) for i in range(200)] + [(chunk(finish="stop"), 0), (DONE, 0)],
    "midstream_error": [(chunk({"content": "partial "}), 0.05),
                        ('data: {"error":{"message":"out of memory while generating","code":500}}\n\n', 0)],
    "reasoning": [(chunk({"role": "assistant", "content": None}), 0),
                  (chunk({"reasoning_content": "Let me think. "}), 0),
                  (chunk({"reasoning": "The user greets me."}), 0),
                  (chunk({"content": "答案"}), 0), (chunk({"content": "：你好"}, finish="stop"), 0),
                  ('data: {"id":"x","choices":null,"usage":{"total_tokens":42}}\n\n', 0), (DONE, 0)],
    "length": [(chunk({"content": "cut sh"}), 0), (chunk(finish="length"), 0), (usage([]), 0), (DONE, 0)],
    "eof_early": [(chunk({"content": "half an "}), 0), (chunk({"content": "answer"}), 0)],
    "eof_after_finish": [(chunk({"content": "done"}), 0), (chunk(finish="stop"), 0)],
    "garbage": [(chunk({"content": "fine "}), 0), ("data: this is not json\n\n", 0)],
    "crlf": [(": keep-alive\r\n\r\n", 0), ("event: message\r\nid: 1\r\nretry: 100\r\n"
              'data:{"choices":[{"index":0,\r\ndata: "delta":{"content":"línea"}}]}\r\n\r\n', 0),
             ("data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": " dos"},
                                                  "finish_reason": "stop"}]}) + "\r\r", 0),
             ("data: [DONE]\r\n\r\n", 0)],
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/_state"):
            with LOCK:
                self.reply_json(200, STATE)
        else:
            self.reply_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["requests"] += 1
            STATE["last_request"] = {"path": self.path, "authorization": self.headers.get("Authorization"),
                                     "accept": self.headers.get("Accept"), "body": body}
        mode = (body or {}).get("model", "normal")
        if mode == "error503":
            return self.reply_json(503, {"error": {"message": "model is overloaded, try later", "type": "server_error"}})
        if mode == "echo_auth_error":
            auth = self.headers.get("Authorization")
            return self.reply_json(401, {"error": {"message": f"invalid api key: {auth}"}})
        if mode == "non_stream":
            message = {"role": "assistant", "content": "whole answer", "reasoning_content": "quietly"}
            return self.reply_json(200, {"id": "chatcmpl-fixture", "object": "chat.completion", "usage": {"total_tokens": 5},
                                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        if mode == "plain_error":
            return self.reply_bytes(502, "text/html", b"<html>bad gateway</html>")
        if mode == "slow_head":
            time.sleep(3)
        self.stream(MODES.get(mode, MODES["normal"]), split=(mode == "slow"))

    def stream(self, events, split):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for text, delay in events:
                data = text.encode("utf-8")
                cut = next((i + 1 for i, b in enumerate(data) if b >= 0x80), None) if split else None
                if cut is not None:
                    # The first byte of a multi-byte character goes in one write, the rest in the next.
                    self.write_chunk(data[:cut])
                    time.sleep(0.02)
                    self.write_chunk(data[cut:])
                else:
                    self.write_chunk(data)
                time.sleep(delay)
            self.write_chunk(b"")
            with LOCK:
                STATE["completed"] += 1
        except (BrokenPipeError, ConnectionResetError):
            # The client went away: a real server stops generating here.
            with LOCK:
                STATE["disconnects"] += 1
            self.close_connection = True

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def reply_json(self, status, value):
        self.reply_bytes(status, "application/json", json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def reply_bytes(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=watch_parent, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
