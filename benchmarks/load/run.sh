#!/usr/bin/env bash
# Load figure for GET /simulation/{id}/state while a simulation runs (loopback only).
# Needs wrk (apt-get install -y wrk). Starts the API in Release on 127.0.0.1:8090 over a temporary experiment
# run by the test suite's fake nrp-core client, starts a simulation, measures, then stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(mktemp -d)
trap 'kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$root"' EXIT

mkdir -p "$root/experiments/load" "$root/work"
cat > "$root/experiments/load/simulation_config.json" <<'JSON'
{"SimulationName": "load", "SimulationTimeout": 1000000, "SimulationTimestep": 0.01,
 "EngineConfigs": [{"EngineName": "engine", "EngineType": "python_json", "PythonFileName": "engine.py"}]}
JSON
printf 'while True:\n    nrp.run_loop()\n' > "$root/experiments/load/main_script.py"
echo '{"step_seconds": 0.001}' > "$root/experiments/load/fake_client.json"

dotnet build -c Release NrpHost.Api >/dev/null
Logging__LogLevel__Default=Warning ./NrpHost.Api/bin/Release/net10.0/NrpHost.Api --urls http://127.0.0.1:8090 \
  --NrpHost:Storage:LocalRoot="$root/experiments" --NrpHost:Simulation:WorkDirectory="$root/work" \
  --NrpHost:NrpCore:Mode=External --NrpHost:NrpCore:Client=fake_nrp_client:NrpCore \
  --NrpHost:NrpCore:PythonPath:0="$PWD/NrpHost.Tests/Simulation/python" "$@" >"$root/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do curl -fs -o /dev/null http://127.0.0.1:8090/version && break; sleep 0.5; done

id=$(curl -fs -X POST http://127.0.0.1:8090/simulation -d '{"experimentID":"load"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["simulationID"])')
curl -fs -X PUT "http://127.0.0.1:8090/simulation/$id/state" -d '{"state":"started"}'; echo
url="http://127.0.0.1:8090/simulation/$id/state"

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk, 2 threads, 50 connections, 10 s"
wrk -t2 -c50 -d10s --latency "$url"
echo "== bounded: 10,000 requests (2 threads x 5,000), 50 connections"
wrk -t2 -c50 -d30s --latency -s benchmarks/load/count.lua "$url" | grep -E "responses counted|p50"

echo "== ratio: GET state / GET /version, 2 threads, 50 connections, 5 s each, 7 rounds alternating which goes first (same run)"
rps() { wrk -t2 -c50 -d5s "$1" | awk '/Requests\/sec/ {print $2}'; }
rps http://127.0.0.1:8090/version >/dev/null; rps "$url" >/dev/null # both routes compiled by the JIT's last tier first
ratios=()
for round in 1 2 3 4 5 6 7; do
  if (( round % 2 )); then v=$(rps http://127.0.0.1:8090/version); s=$(rps "$url"); else s=$(rps "$url"); v=$(rps http://127.0.0.1:8090/version); fi
  r=$(awk -v s="$s" -v v="$v" 'BEGIN {printf "%.2f", s / v}'); ratios+=("$r")
  echo "round $round: /version $v req/s, state $s req/s, ratio $r"
done
echo "median ratio: $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 4p)"

curl -fs -X PUT "$url" -d '{"state":"stopped"}'; echo
