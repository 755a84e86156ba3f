#!/usr/bin/env bash
# paired.sh compares bw infer with har-to-openapi on the very same traffic:
# for every run directory (made by run.sh: cap.db, cap.har, cap.jsonl) it
# runs the baseline on bw's own recorded HAR and scores both with score.py.
# Prism's answers are random, so a comparison on separate traffic mixes the
# tools' differences with the traffic's; this one does not.
# usage: bash bench/eval/paired.sh RUN_DIR...   (e.g. bench/out/eval)
# Needs: run.sh --baselines done once (node_modules in OUT/instrument/node).
set -euo pipefail
cd "$(dirname "$0")/../.."
BW=${BW:-bin/bw}
EVAL=${EVAL:-bench/out/eval/instrument}
PYTHON=${PYTHON:-python3}
[[ -d $EVAL/node/node_modules ]] || { echo "paired.sh: run 'make eval EVAL_ARGS=--baselines' once first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| run | spec | tool | ops F1 | query F1 | resp F1 | req F1 | required acc | format acc | strict |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for run in "$@"; do
	for dir in "$run"/*/; do
		[[ -f $dir/cap.har && -f $dir/cap.db && -f $dir/cap.jsonl ]] || continue
		name=$(basename "$dir")
		spec=$(ls "$EVAL"/specs/"$name".* 2>/dev/null | head -n 1 || true)
		[[ -n $spec ]] || continue
		node "$EVAL/baseline_har_to_openapi.mjs" "$dir/cap.har" "$tmp/h2o.json" 2>/dev/null || echo '{}' >"$tmp/h2o.json"
		"$BW" --db "$dir/cap.db" infer --format openapi -o "$tmp/bw.yaml"
		for tool in bw h2o; do
			f=$tmp/bw.yaml
			[[ $tool == h2o ]] && f=$tmp/h2o.json
			"$PYTHON" "$EVAL/score.py" "$spec" "$f" --log "$dir/cap.jsonl" --json 2>/dev/null |
				"$PYTHON" -c '
import json, sys
r = json.load(sys.stdin); c = r["components"]
cells = ["—" if k in r["skipped"] else "%.3f" % c[k]["score"] for k in c]
print("| %s | %s | %s | %s | %.3f |" % (sys.argv[1], sys.argv[2], sys.argv[3], " | ".join(cells), r["overall_strict"]))
' "$run" "$name" "$([[ $tool == bw ]] && echo bw || echo har-to-openapi)"
		done
	done
done
