#!/usr/bin/env python3
"""Print the `make eval` table from the artifacts bench/eval/run.sh left behind.

usage: report.py [--live DIR] OUTDIR NAME [NAME...]

For each NAME (a spec file's basename without extension) it reads
  OUTDIR/NAME/meta.json    written by run.sh: label, error, timings
  OUTDIR/NAME/score.json   score.py --json of bw's inferred spec (if any)
  DIR/NAME.{har-to-openapi,optic}.score.json   (--live DIR: baselines.sh's output)
and prints one markdown table: per spec the bw row, the baseline rows published
in shared/eval/README.md ("Development specs"), and live baseline rows if there
are any. After the table, one verdict line per spec and one timing line per spec.

Exit code: 0 when every spec produced a bw score, 1 otherwise. With
EVAL_GATE=1 in the environment, also 1 when a spec misses a target.
"""
import json
import os
import sys
from pathlib import Path

# score.py's component keys, in table order, and the table's column names.
COMPONENTS = ("operations", "query_params", "response_bodies", "request_bodies", "required", "formats")
COLUMNS = ("ops F1", "query F1", "resp F1", "req F1", "required acc", "format acc", "overall", "strict")

# The README's names for the development specs (file basename -> table name).
SHORT = {
    "swagger-petstore-v3": "petstore-v3",
    "realworld-conduit": "realworld-conduit",
    "alertmanager-v2-0.25.0": "alertmanager",
    "gotify-server": "gotify",
}

# PUBLISHED figures, copied by hand from the "Development specs" table of
# shared/eval/README.md (6 requests per operation, one run). They are not
# measured by this script; `run.sh --baselines` measures them live.
# Columns: ops F1, query F1, resp F1, req F1, required acc, format acc, overall, strict.
PUBLISHED = {
    "petstore-v3": {
        "har-to-openapi": (.604, 1, 1, 1, .977, 1, .930, .889),
        "optic": (.455, .600, .507, .611, .979, 0, .525, .403),
    },
    "realworld-conduit": {
        "har-to-openapi": (.172, 1, 1, 1, 1, 1, .862, .574),
        "optic": (.973, .833, .929, 1, .989, 0, .787, .747),
    },
    "alertmanager": {
        "har-to-openapi": (1, 1, 1, 1, .944, 1, .991, .991),
        "optic": (1, 1, 1, 1, .933, 0, .822, .822),
    },
    "gotify": {
        "har-to-openapi": (1, 1, 1, 1, .974, 1, .996, .996),
        "optic": (.795, 1, .724, .720, .939, 0, .696, .583),
    },
}

# Targets for bw besides beating the baselines.
STRICT_TARGET = 0.95
OPS_TARGET = 0.98
# Items listed per score.py list (wrong required-ness, missed leaves, ...) under "Where bw lost points".
DETAIL = 4


def figures(score):
    """score.py --json -> 8 values (None for a skipped component), rounded to 3 places."""
    c, skipped = score["components"], set(score.get("skipped", []))
    vals = [None if k in skipped else round(c[k]["score"], 3) for k in COMPONENTS]
    return vals + [round(score["overall"], 3), round(score["overall_strict"], 3)]


def cell(v):
    if v is None:
        return "—"
    return f"{v:.3f}"


def row(spec, tool, vals, bold_overall=False):
    cells = [cell(v) for v in vals]
    if bold_overall and vals[6] is not None:
        cells[6] = f"**{cells[6]}**"
    return f"| {spec} | {tool} | " + " | ".join(cells) + " |"


def load(p):
    try:
        return json.loads(Path(p).read_text())
    except (OSError, ValueError):
        return None


def main(argv):
    live_dir = None
    if argv[:1] == ["--live"]:
        live_dir, argv = Path(argv[1]), argv[2:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    out, names = Path(argv[0]), argv[1:]
    lines = ["| spec | tool | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    verdicts, timings, details = [], [], []
    ok, gate_ok = True, True
    for name in names:
        short = SHORT.get(name, name)
        meta = load(out / name / "meta.json") or {}
        score = load(out / name / "score.json")
        label = meta.get("label", "bw")
        bw = None
        if meta.get("error") or score is None:
            ok = False
            why = meta.get("error") or "no score"
            lines.append(f"| {short} | {label} (failed: {why}) |" + " |" * len(COLUMNS))
        else:
            bw = figures(score)
            lines.append(row(short, label, bw, bold_overall=True))
        baselines = []  # (tool label, 8 values)
        for tool, vals in PUBLISHED.get(short, {}).items():
            baselines.append((f"{tool} (README)", list(vals)))
            lines.append(row(short, f"{tool} (README)", vals))
        for tool in ("har-to-openapi", "optic") if live_dir else ():
            live = load(live_dir / f"{name}.{tool}.score.json")
            if live is not None:
                vals = figures(live)
                baselines.append((f"{tool} (live)", vals))
                lines.append(row(short, f"{tool} (live)", vals))
        if bw is None:
            verdicts.append(f"- {short}: no bw figures ({meta.get('error') or 'no score'})")
            continue
        # bw >= the best baseline on every column (6 components, overall, strict).
        short_of = []
        for i, col in enumerate(COLUMNS):
            best = [v[i] for _, v in baselines if v[i] is not None]
            if not best or bw[i] is None:
                continue
            if bw[i] < max(best):
                short_of.append(f"{col} {bw[i]:.3f} < {max(best):.3f}")
        beats = "no baseline figures" if not baselines else (
            "yes" if not short_of else "NO (" + "; ".join(short_of) + ")")
        strict_ok = bw[7] >= STRICT_TARGET
        ops_ok = bw[0] is not None and bw[0] >= OPS_TARGET
        against = " + ".join(sorted({t.split(" (")[1].rstrip(")") for t, _ in baselines})) or "none"
        note = f" [{label}]" if label != "bw" else ""
        verdicts.append(
            f"- {short}{note}: bw >= best baseline ({against}) on every column: {beats}; "
            f"strict {bw[7]:.3f} >= {STRICT_TARGET}: {'yes' if strict_ok else 'NO'}; "
            f"ops F1 {cell(bw[0])} >= {OPS_TARGET}: {'yes' if ops_ok else 'NO'}")
        if short_of or not strict_ok or not ops_ok:
            gate_ok = False
        lost = []
        for k in ("missed_operations", "extra_operations"):
            if score.get(k):
                lost.append(f"{k.replace('_', ' ')}: " + ", ".join(score[k][:DETAIL]))
        for comp in COMPONENTS:
            for k, v in score["components"].get(comp, {}).items():
                if isinstance(v, list) and v:
                    more = f" (+{len(v) - DETAIL} more)" if len(v) > DETAIL else ""
                    lost.append(f"{comp} {k}: " + "; ".join(map(str, v[:DETAIL])) + more)
        if lost:
            details.append(f"- {short} ({os.path.relpath(out / name / 'score.json')} has all):")
            details.extend(f"  - {x}" for x in lost)
        t = meta.get("timings")
        if t:
            timings.append(f"- {short}: " + ", ".join(f"{k} {v:.2f}s" for k, v in t.items()))
    print("\n".join(lines))
    print()
    print("\n".join(verdicts))
    if details:
        print()
        print("Where bw lost points:")
        print("\n".join(details))
    if timings:
        print()
        print("Timings:")
        print("\n".join(timings))
    if not ok:
        return 1
    if os.environ.get("EVAL_GATE") == "1" and not gate_ok:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
