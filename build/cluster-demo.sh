#!/usr/bin/env bash
# Cluster demo (docs/replicas.md): one redis-server, one slow upstream and three sample hosts that share
# one budget for proxy "ai" (local limit 4 each, cluster budget 6). Sends bounded bursts to 127.0.0.1
# only and prints the most requests the upstream saw at once: with Redis, then with Redis stopped
# (each replica on its local limit alone, /healthz Degraded), then after Redis is back.
# Everything it starts runs on free loopback ports and is stopped by its own process id.
#   build/cluster-demo.sh            build Release, then run (about a minute)
#   build/cluster-demo.sh --no-build
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

LOCAL_LIMIT=4
CLUSTER_BUDGET=6
PER_HOST=12          # requests per host per burst (36 at once across the three hosts)
SLOW_MS=3000        # long enough that every request of a burst overlaps

redis_bin=$(command -v redis-server || true)
[ -z "$redis_bin" ] && [ -x /usr/bin/redis-server ] && redis_bin=/usr/bin/redis-server
if [ -z "$redis_bin" ]; then
  echo "redis-server not found: apt-get install -y redis-server (or build/ci-install-tools.sh)" >&2
  exit 1
fi
command -v curl >/dev/null || { echo "curl not found: apt-get install -y curl" >&2; exit 1; }

if [ "${1:-}" != "--no-build" ]; then
  dotnet build -c Release samples/MinimalHost -v quiet -nologo
  dotnet build -c Release tests/HardenedGateway.Benchmarks -v quiet -nologo
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A port nothing answers on (a listener would accept the probe).
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return; fi
  done
}

wait_for() { # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2; tail -n 20 "$work"/host*.log >&2; return 1
}

redis_port=$(free_port)
start_redis() {
  "$redis_bin" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null && return 0; sleep 0.1; done
  echo "redis-server did not start" >&2; return 1
}
start_redis
echo "redis-server      127.0.0.1:$redis_port (pid $redis_pid)"

dotnet tests/HardenedGateway.Benchmarks/bin/Release/net10.0/HardenedGateway.Benchmarks.dll slow-upstream --parentPid $$ --maxLifetime 600 >"$work/upstream.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do grep -q '^LISTENING' "$work/upstream.log" && break; sleep 0.1; done
upstream_port=$(awk '/^LISTENING/ {print $2; exit}' "$work/upstream.log")
[ -n "$upstream_port" ] || { echo "the slow upstream did not start" >&2; cat "$work/upstream.log" >&2; exit 1; }
upstream="http://127.0.0.1:$upstream_port"
echo "slow upstream     $upstream (answers after ${SLOW_MS} ms)"

hosts=()
for i in 1 2 3; do
  port=$(free_port)
  HardenedGateway__Proxies__ai__Upstream="$upstream/api/ai/" \
  HardenedGateway__Proxies__ai__MaxConcurrent=$LOCAL_LIMIT \
  HardenedGateway__Proxies__ai__Cluster__MaxConcurrent=$CLUSTER_BUDGET \
  HardenedGateway__Redis__Configuration="127.0.0.1:$redis_port" \
  HardenedGateway__Redis__OperationTimeout="00:00:00.250" \
  HardenedGateway__Redis__LeaseTime="00:00:10" \
  Admin__Token=demo-token \
  Logging__LogLevel__Default=Warning \
  dotnet samples/MinimalHost/bin/Release/net10.0/MinimalHost.dll --contentRoot "$PWD/samples/MinimalHost" --urls "http://127.0.0.1:$port" >"$work/host$i.log" 2>&1 &
  pids+=("$!")
  hosts+=("http://127.0.0.1:$port")
done
for host in "${hosts[@]}"; do wait_for "$host/healthz" 60; done
echo "sample hosts      ${hosts[*]} (MaxConcurrent $LOCAL_LIMIT each, Cluster:MaxConcurrent $CLUSTER_BUDGET)"
# Warm up (JIT, connections, Redis script cache), so the first burst measures the budget, not a cold start.
# OperationTimeout is 250 ms here rather than the default 50 ms: three hosts, Redis and dozens of curl
# processes share this machine's cores, and a starved replica would fall back to its local limit.
for host in "${hosts[@]}"; do
  for _ in 1 2 3; do curl -s -o /dev/null "$host/api/ai/slow?ms=1"; done
done

burst() { # label
  curl -s -o /dev/null "$upstream/_max?reset=true"
  local out="$work/burst.txt"
  : >"$out"
  local curls=()
  for host in "${hosts[@]}"; do
    for _ in $(seq 1 $PER_HOST); do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$host/api/ai/slow?ms=$SLOW_MS" >>"$out" &
      curls+=("$!")
    done
  done
  for pid in "${curls[@]}"; do wait "$pid" || true; done
  local ok tooMany max health
  ok=$(grep -c '^200$' "$out" || true)
  tooMany=$(grep -c '^429$' "$out" || true)
  max=$(curl -s "$upstream/_max" | sed -n 's/.*"maxInFlight":\([0-9]*\).*/\1/p')
  health=$(curl -s "${hosts[0]}/healthz")
  printf '%-28s %2d sent, %2d answered 200, %2d got 429; upstream saw at most %s at once; /healthz %s\n' \
    "$1" $(( PER_HOST * 3 )) "$ok" "$tooMany" "$max" "$health"
}

echo
burst "with Redis:"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
sleep 1
burst "Redis stopped:"
start_redis
for _ in $(seq 1 100); do [ "$(curl -s "${hosts[0]}/healthz")" = "Healthy" ] && break; sleep 0.1; done
burst "Redis back:"
echo
echo "admin object of ai on host 1 (cluster field):"
curl -s -H "Authorization: Bearer demo-token" "${hosts[0]}/api/gateway/proxies" | sed -n 's/.*\("cluster":{[^}]*}\).*/  \1/p'
