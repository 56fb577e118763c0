#!/usr/bin/env bash
# Starts N NrpHost API processes on consecutive ports against one MQTT broker, to try several hosts behind one NRP
# Proxy on one machine (README, "Several hosts"). Ctrl-C (or TERM) stops them all.
#
#   eng/run-hosts.sh N
#
# Environment (all optional):
#   NRPHOST_BROKER      the MQTT broker every host publishes to, host:port (default 127.0.0.1:1883)
#   NRPHOST_FIRST_PORT  API port of host 1; host i listens on NRPHOST_FIRST_PORT + i - 1 (default 8091)
#   NRPHOST_BIND        the address the APIs listen on (default 127.0.0.1)
#   NRPHOST_RUN_DIR     where each host's work directory (host-<i>/) and log (host-<i>.log) go (default ./nrphost-run)
#   NRPHOST_API         the NrpHost.Api.dll to run (default: NrpHost.Api built in Release by this script)
#   NrpHost__*          any NrpHost setting, given to every host: NrpHost__Storage__ProxyUrl for the NRP Storage
#                       Proxy, NrpHost__Storage__LocalRoot for one shared experiments folder (default: experiments/ in
#                       the current directory)
#
# Each host gets NrpHost__Mqtt__Broker and its own NrpHost__Simulation__WorkDirectory; NrpHost:HostId and
# NrpHost:Mqtt:Prefix are left unset, so host i is <machine name>-<its port> and publishes under that prefix.
# For each host one line is printed: "host <i> <url> pid <pid> log <file>"; when a host ends: "host <i> exited <code>".
set -uo pipefail


count=${1:-}
if [[ ! "$count" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 N   (N hosts on consecutive ports from \${NRPHOST_FIRST_PORT:-8091})" >&2
    exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
broker=${NRPHOST_BROKER:-127.0.0.1:1883}
first_port=${NRPHOST_FIRST_PORT:-8091}
bind=${NRPHOST_BIND:-127.0.0.1}
run_dir=${NRPHOST_RUN_DIR:-$PWD/nrphost-run}
api=${NRPHOST_API:-}

if [[ -z "$api" ]]; then
    echo "building NrpHost.Api (Release)..." >&2
    dotnet build "$root/NrpHost.Api/NrpHost.Api.csproj" -c Release -nologo -v quiet >&2 || exit 1
    api=$root/NrpHost.Api/bin/Release/net10.0/NrpHost.Api.dll
fi

if [[ ! -f "$api" ]]; then
    echo "$api does not exist (set NRPHOST_API to NrpHost.Api.dll)" >&2
    exit 1
fi

mkdir -p "$run_dir"
pids=()

stop_all() {
    trap - INT TERM
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    wait
    exit 0
}
trap stop_all INT TERM

for ((i = 1; i <= count; i++)); do
    port=$((first_port + i - 1))
    mkdir -p "$run_dir/host-$i"
    NrpHost__Mqtt__Broker=$broker \
    NrpHost__Simulation__WorkDirectory=$run_dir/host-$i \
        dotnet "$api" --urls="http://$bind:$port" >"$run_dir/host-$i.log" 2>&1 &
    pids+=($!)
    echo "host $i http://$bind:$port pid $! log $run_dir/host-$i.log"
done

# Report each host that ends (killed, crashed or stopped) and keep the others running.
for ((alive = count; alive > 0; alive--)); do
    wait -n -p ended
    status=$?
    for ((i = 1; i <= count; i++)); do
        if [[ "${pids[i - 1]}" == "$ended" ]]; then
            echo "host $i exited $status"
            pids[i - 1]=""
        fi
    done
done
