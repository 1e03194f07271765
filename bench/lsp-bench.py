#!/usr/bin/env python3
"""Benchmarks of `flow lsp` (use a release build):

  bench/lsp-bench.py [--flow BIN] [--big FILE] [--edits N] [--memory-edits N]

  1. diagnostics after a one-character edit in flows/support.flow: the time from sending
     didChange to receiving publishDiagnostics for that version (median and 90th percentile);
  2. the same in a large file (--big; make one with `flow-bench generate 100000 > big.flow`),
     with the edit in the first flow, in the middle and at 95% of the file;
  3. the server's resident memory (VmRSS) while flows/support.flow is edited --memory-edits
     times (default 10,000), each edit waiting for its diagnostics.

Edits alternate: type a character into a name (an error), then delete it (clean again)."""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU time of a process so far (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def edit_loop(client, uri, text, needle, count, on_edit=None, offset=None):
    """Types 'x' after `needle` (or at `offset`), then deletes it, `count` edits in all; returns
    the latencies (s)."""
    if offset is None:
        offset = text.index(needle) + len(needle)
    line = text.count("\n", 0, offset)
    character = offset - (text.rfind("\n", 0, offset) + 1)
    start = {"line": line, "character": character}
    after = {"line": line, "character": character + 1}
    times = []
    for k in range(count):
        version = k + 2
        if k % 2 == 0:
            change = {"range": {"start": start, "end": start}, "text": "x"}
        else:
            change = {"range": {"start": start, "end": after}, "text": ""}
        t0 = time.perf_counter()
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        client.wait("textDocument/publishDiagnostics", lambda m: m["params"].get("version") == version and m["params"]["uri"] == uri)
        times.append(time.perf_counter() - t0)
        if on_edit:
            on_edit(k)
    return times


def report(name, times, cpu=None):
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"{name}: {len(times)} edits, median {statistics.median(times) * 1000:.1f} ms, "
          f"90th percentile {p90 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
          + (f"; server CPU time {cpu * 1000 / len(times):.1f} ms per edit" if cpu is not None else ""))


def open_doc(client, path, version=1):
    text = open(path, encoding="utf-8").read()
    uri = "file://" + os.path.abspath(path)
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "flow", "version": version, "text": text}})
    client.wait("textDocument/publishDiagnostics", lambda m: m["params"]["uri"] == uri)
    return uri, text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flow", default=os.path.join(ROOT, ".build-rel/release/flow"))
    parser.add_argument("--big")
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--memory-edits", type=int, default=10_000)
    args = parser.parse_args()

    client = Client([args.flow, "lsp"], cwd=ROOT)
    client.initialize(os.path.join(ROOT, "flows"))
    uri, text = open_doc(client, os.path.join(ROOT, "flows/support.flow"))
    pid = client.proc.pid
    c0 = cpu_seconds(pid)
    times = edit_loop(client, uri, text, "product: Issue.Produc", args.edits)
    report("flows/support.flow", times, cpu_seconds(pid) - c0)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    if args.big:
        t0 = time.perf_counter()
        buri, btext = open_doc(client, args.big)
        lines = btext.count("\n")
        print(f"{args.big}: {lines} lines, {len(btext.encode())} bytes, opened and checked in {(time.perf_counter() - t0) * 1000:.0f} ms")
        # An edit in a name that is read, in the first flow, in the middle of the file and near
        # its end (the language server reuses what it lowered of the flows before an edit, so
        # where the edit is matters).
        for where, at in (("first flow", 0), ("middle", len(btext) // 2), ("95%", len(btext) * 95 // 100)):
            offset = btext.index("set total", at) + len("set tota")
            c0 = cpu_seconds(pid)
            times = edit_loop(client, buri, btext, None, max(20, args.edits // 10), offset=offset)
            report(f"{lines}-line file, edit in the {where}", times, cpu_seconds(pid) - c0)
        client.notify("textDocument/didClose", {"textDocument": {"uri": buri}})

    if args.memory_edits:
        muri, mtext = open_doc(client, os.path.join(ROOT, "flows/support.flow"), version=1)
        samples = []

        def sample(k):
            if (k + 1) % 1000 == 0:
                samples.append((k + 1, rss_kb(pid)))

        before = rss_kb(pid)
        times = edit_loop(client, muri, mtext, "devices: Issue.Devices affecte", args.memory_edits, sample)
        print(f"memory: VmRSS {before} kB before; after each 1,000 edits: " + ", ".join(f"{kb}" for _, kb in samples) + " kB")
        report("memory run", times)
    print("exit status", client.close())


if __name__ == "__main__":
    main()
