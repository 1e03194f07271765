"""A minimal LSP client over a child process's pipes: Content-Length framing, requests,
notifications, and waiting for a notification. Used by bench/lsp-bench.py (and by hand)."""
import json
import os
import subprocess
import time


class Client:
    def __init__(self, argv, cwd=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=cwd)
        self.next_id = 1
        self.buffer = b""
        self.pending = []

    def send(self, obj):
        body = json.dumps(obj).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self):
        while b"\r\n\r\n" not in self.buffer:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError("server closed its output")
            self.buffer += chunk
        header, rest = self.buffer.split(b"\r\n\r\n", 1)
        length = int([l for l in header.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
        while len(rest) < length:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError("server closed its output")
            rest += chunk
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def request(self, method, params):
        i = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == i and "method" not in m:
                return m
            self.pending.append(m)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, method, predicate=lambda m: True):
        for k, m in enumerate(self.pending):
            if m.get("method") == method and predicate(m):
                del self.pending[k]
                return m
        while True:
            m = self.read()
            if m.get("method") == method and predicate(m):
                return m
            self.pending.append(m)

    def initialize(self, root):
        r = self.request("initialize", {"processId": os.getpid(), "rootUri": "file://" + root, "capabilities": {}})
        self.notify("initialized", {})
        return r

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        return self.proc.wait(timeout=10)
