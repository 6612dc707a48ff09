#!/usr/bin/env bash
# Runs the benchmark scenarios of docs/benchmarks.md (issue 18) on loopback, each bounded in time,
# and prints one table. Default: CI-sized (a 2-minute soak); --full: the sizes docs/benchmarks.md
# reports (a 30-minute soak). Results (JSON, logs) go to --out.
#
#   deploy/bench.sh                       # fan-out, memory, storm, soak (2 min), ingest
#   deploy/bench.sh --full                # the same with a 30-minute soak
#   deploy/bench.sh --only fanout --nodes 2000
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
nodes=10000
only=""
out=bench-results
while [ $# -gt 0 ]; do
  case "$1" in
    --full) mode=full ;;
    --nodes) nodes="$2"; shift ;;
    --only) only="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (--full, --nodes N, --only SCENARIO, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done

deploy/install-deps.sh
build=build-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOA_BUILD_TESTS=OFF -DLOA_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fleet_bench >/dev/null
mkdir -p "$out"

soak_s=120
[ "$mode" = full ] && soak_s=1800
# name | time limit (s) | arguments
scenarios=(
  "fanout|1200|fanout --nodes $nodes"
  "storm|900|storm --nodes $nodes"
  "soak|$((soak_s + 900))|soak --nodes $nodes --duration-s $soak_s"
  "ingest|600|ingest --nodes 500 --duration-s 30"
  "zmqfloor|300|zmqfloor --nodes $nodes"
)
failed=0
for entry in "${scenarios[@]}"; do
  IFS='|' read -r name limit args <<<"$entry"
  if [ -n "$only" ] && [ "$only" != "$name" ]; then
    continue
  fi
  echo "bench.sh: $name ($args), at most $limit s" >&2
  # shellcheck disable=SC2086
  if ! timeout --kill-after=30 "$limit" "$build/bench/fleet_bench" $args --json \
      >"$out/$name.json" 2>"$out/$name.log"; then
    failed=1
  fi
done

python3 - "$out" "$only" <<'PY'
import json, os, sys
out, only = sys.argv[1], sys.argv[2]
def load(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.load(f)
    except Exception:
        return None
rows = []
def row(scenario, measure, value, target, verdict):
    rows.append((scenario, measure, value, target, verdict))
f = load("fanout")
if f:
    v = f["verdict"]
    row("fan-out", f"emergency to {f['nodes']:,} nodes, p50 / p99 / max",
        f"{f['loa_p50_ms']:.0f} / {f['loa_p99_ms']:.0f} / {f['loa_max_ms']:.0f} ms",
        "p99 ≤ 1000 ms", v)
    row("fan-out", "mosquitto QoS 1, same payload, p50 / p99 / max",
        f"{f['mqtt_p50_ms']:.0f} / {f['mqtt_p99_ms']:.0f} / {f['mqtt_max_ms']:.0f} ms",
        "loa's p99 ≤ this", v)
    row("memory", "per connected node: loa (page caches aside) / mosquitto",
        f"{f['loa_memory_per_node_kb']:.1f} ({f['loa_memory_per_node_no_cache_kb']:.1f}) / {f['mqtt_memory_per_connection_kb']:.1f} kB",
        "loa ≤ 40 kB", v)
z = load("zmqfloor")
if z:
    row("memory", f"libzmq alone, {z['nodes']:,} CURVE connections, per connection",
        f"{z['per_connection_kb']:.1f} kB", "", "—")
s = load("storm")
if s:
    row("storm", f"SIGKILL + restart, {s['nodes']:,} nodes all back",
        f"{s['all_back_s']:.1f} s; given up {s['sessions_given_up']}, refusals {s['security_refusals']}",
        "≤ 60 s, 0, 0", s["verdict"])
k = load("soak")
if k:
    row("soak", f"{k['nodes']:,} nodes, {k['window_s']:.0f} s: RSS growth, CPU per 1,000",
        f"{100*k['rss_growth']:+.1f} %, {100*k['controller_cpu_share_per_1000_nodes']:.2f} % of a core",
        "≤ +5 %", k["verdict"])
    row("soak", "confirmations produced / stored / waiting; log errors",
        f"{k['confirmations_produced']} / {k['confirmations_stored']} / {k['confirmations_waiting']}; {k['controller_errors']}",
        "each stored once; 0", k["verdict"])
i = load("ingest")
if i:
    row("ingest", "confirmations/s through ZeroMQ, decode, store, ack",
        f"{i['confirmations_per_s']:.0f} vs plain {i['plain_rows_per_s']:.0f} (ratio {i['ratio']:.2f})",
        "ratio ≥ 0.5", i["verdict"])
print("| scenario | measure | measured | target | verdict |")
print("|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
missing = [n for n in ("fanout", "storm", "soak", "ingest") if (not only or only == n) and load(n) is None]
for n in missing:
    print(f"| {n} | did not finish: see {out}/{n}.log | | | FAIL |")
PY
exit $failed
