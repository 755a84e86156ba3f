#!/usr/bin/env python3
"""report.py OUT SERVER...: the markdown table of bench/eval-real/run.sh.

Reads OUT/SERVER/{bw,har-to-openapi,optic,truth}.score.json (score.py --json)
and OUT/SERVER/session.jsonl; prints one row per server and tool."""
import json
import os
import sys

COMPONENTS = ("operations", "query_params", "response_bodies", "request_bodies", "required", "formats")
HEADS = ("ops F1", "query F1", "resp F1", "req F1", "required acc", "format acc")
TOOLS = ("bw", "har-to-openapi", "optic")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cells(r):
    c = r["components"]
    return ["—" if k in r.get("skipped", []) or k not in c else "%.3f" % c[k]["score"] for k in COMPONENTS]


def main():
    out, servers = sys.argv[1], sys.argv[2:]
    head = ["server", "exchanges (scored)", "tool"] + list(HEADS) + ["overall", "strict"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    summary = []
    for s in servers:
        d = os.path.join(out, s)
        err = None
        try:
            err = open(os.path.join(d, "error")).read().strip()
        except OSError:
            pass
        n = scored = 0
        try:
            for line in open(os.path.join(d, "session.jsonl")):
                e = json.loads(line)
                n += 1
                scored += bool(e.get("op")) and e.get("status", 0) not in (0, 404, 405)
        except (OSError, ValueError):
            pass
        ex = "%d (%d)" % (n, scored)
        if err:
            print("| %s | %s | (failed: %s) |%s" % (s, ex, err, " |" * (len(head) - 3)))
            summary.append((s, None, None, None))
            continue
        best = None
        bw = None
        for tool in TOOLS + ("truth",):
            r = load(os.path.join(d, tool + ".score.json"))
            if r is None:
                continue
            label = "truth spec (ceiling)" if tool == "truth" else tool
            print("| %s | %s | %s | %s | %.3f | **%.3f** |" % (
                s, ex, label, " | ".join(cells(r)), r["overall"], r["overall_strict"]))
            if tool == "bw":
                bw = r["overall_strict"]
            elif tool != "truth" and (best is None or r["overall_strict"] > best[1]):
                best = (tool, r["overall_strict"])
        summary.append((s, bw, best and best[0], best and best[1]))
    print()
    print("| server | bw strict | best peer | best peer strict |")
    print("|---|---|---|---|")
    for s, bw, peer, ps in summary:
        f = lambda x: "—" if x is None else "%.3f" % x
        print("| %s | %s | %s | %s |" % (s, f(bw), peer or "—", f(ps)))


if __name__ == "__main__":
    main()
