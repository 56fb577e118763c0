#!/usr/bin/env bash
# Storage figure over real HTTP: with the Storage Proxy hanging on every call, GET /simulation keeps answering
# (p99 under 100 ms) while POST /simulation fails cleanly within NrpHost:Storage:TimeoutSeconds. Loopback only.
# Needs wrk (apt-get install -y wrk) and python3. Stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(mktemp -d)
cleanup() { kill "$server" "$proxy" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT

# A "proxy" that accepts connections and never answers.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 18099)); s.listen(128)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' &
proxy=$!

dotnet build -c Release NrpHost.Api >/dev/null
Logging__LogLevel__Default=Warning ./NrpHost.Api/bin/Release/net10.0/NrpHost.Api --urls http://127.0.0.1:8090 \
  --NrpHost:Storage:ProxyUrl=http://127.0.0.1:18099 --NrpHost:Storage:TimeoutSeconds=5 \
  --NrpHost:Simulation:WorkDirectory="$root/work" --NrpHost:Mqtt:EmbeddedPort=18098 >"$root/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do curl -fs -o /dev/null http://127.0.0.1:8090/version && break; sleep 0.5; done

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# The POST resolves the caller through the hung proxy first, then would stage from it.
( start=$(date +%s.%N)
  code=$(curl -s -o "$root/post.json" -w '%{http_code}' -X POST http://127.0.0.1:8090/simulation \
    -H 'Authorization: Bearer some-token' -d '{"experimentID":"exp"}')
  end=$(date +%s.%N)
  echo "== POST /simulation with the proxy hanging: HTTP $code after $(python3 -c "print(round($end-$start,2))") s: $(cat "$root/post.json")" ) &
post=$!
sleep 0.2
echo "== GET /simulation meanwhile (wrk, 2 threads, 10 connections, 6 s)"
wrk -t2 -c10 -d6s --latency http://127.0.0.1:8090/simulation | grep -E "Requests/sec|50%|90%|99%|requests in|Non-2xx|Socket"
wait "$post"
