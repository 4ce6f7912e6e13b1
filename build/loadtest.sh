#!/usr/bin/env bash
# Side-by-side load test (issue 7): the upstream reached directly, YARP 2.3.0 with default settings,
# and the HardenedGateway host (AddHardenedProxy, limiter and breaker on the measured path), each its
# own process on 127.0.0.1, driven by wrk in interleaved rounds (A B C A B C ...) so that drift on a
# shared machine hits every target alike. Reports medians as a markdown table on stdout and as JSON in
# artifacts/loadtest/results.json. It reports; it never fails on a slow figure.
#
#   build/loadtest.sh                 quick mode: about 2.5 minutes with 3 targets, 3 with 4
#   build/loadtest.sh --full          the specification's 5-minute 1,000 req/s run (T061) and longer runs
#   build/loadtest.sh --overload      the overload scenario (issues 16 and 10): the cost of saying no
#                                     against YARP + ASP.NET Core's ConcurrencyLimiter; about 5 minutes
#   build/loadtest.sh --help          every option
#
# Needs the .NET SDK; installs wrk (and curl) with apt-get when missing. Only 127.0.0.1 traffic.
# Every process it starts stops when the script exits (trap), and stops by itself anyway when the
# script is gone or after a maximum lifetime.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
project="$root/tests/HardenedGateway.Benchmarks/HardenedGateway.Benchmarks.csproj"
dll="$root/tests/HardenedGateway.Benchmarks/bin/Release/net10.0/HardenedGateway.Benchmarks.dll"
lua="$root/build/loadtest"
out="$root/artifacts/loadtest"

usage() {
  cat <<'EOF'
usage: build/loadtest.sh [options]
  --full               5-minute 1,000 req/s run per target (one round) and 10 s throughput runs
  --rounds N           rounds of A B C ... (default 3)
  --control TARGET     run a second instance of TARGET (gateway or yarp) to show drift;
                       default: gateway when it is available, else yarp
  --no-control         no second instance
  --gateway            include the gateway
  --no-gateway         leave the gateway out (default: included when src/HardenedGateway has AddHardenedProxy)
  --no-build           use the existing Release build
  --rate N             fixed rate in requests/s (default 1000)
  --rate-seconds N     length of each fixed-rate run (default 5, --full 300)
  --overload           the overload scenario instead: an upstream that holds every request --hold-ms,
                       a cap of --cap, --connections closed-loop connections (wrk plus a latency probe)
                       against the gateway (MaxConcurrent = cap, and a proxy whose breaker is open),
                       YARP with the rate-limiting middleware's ConcurrencyLimiter (and a 503
                       middleware), and a control instance; reports admitted/s, rejected/s, CPU per
                       answer, admitted p50/p99 apart from the rejections, and the unloaded p99
  --overload-seconds N length of each overloaded run (default 10)
  --cap N              the limit of both limiters (default 8)
  --hold-ms N          how long the upstream holds each request (default 50)
  --connections N      closed-loop connections in the overloaded runs (default 256, of which
                       --probe-connections are the probe's)
  --probe-connections N (default 16)
  --no-floor           leave out the floor target: a bare ASP.NET Core app whose first middleware writes
                       the gateway's 429 and 503 bytes (no limiter, breaker, metrics or log check), the
                       least any middleware can spend per answer in this process model
  --baseline REF       also run the gateway built from git REF (a commit, tag or branch) as target
                       gateway-baseline, to measure what a change bought in the same run
  --help
Environment: DOTNET_gcServer (default 1, as ASP.NET Core apps), any DOTNET_* knob, passed to every host.
EOF
}

mode=quick
rounds=3
control=auto
gateway=auto
build=1
rate=1000
rate_seconds=""
overload=0
overload_s=10
cap=8
hold_ms=50
overload_conns=256
probe_conns=16
baseline=""
floor=1
while (($#)); do
  case $1 in
    --full) mode=full ;;
    --rounds) rounds=$2; shift ;;
    --control) control=$2; shift ;;
    --no-control) control=none ;;
    --gateway) gateway=on ;;
    --no-gateway) gateway=off ;;
    --no-build) build=0 ;;
    --no-floor) floor=0 ;;
    --rate) rate=$2; shift ;;
    --rate-seconds) rate_seconds=$2; shift ;;
    --overload) overload=1 ;;
    --overload-seconds) overload_s=$2; shift ;;
    --cap) cap=$2; shift ;;
    --hold-ms) hold_ms=$2; shift ;;
    --connections) overload_conns=$2; shift ;;
    --probe-connections) probe_conns=$2; shift ;;
    --baseline) baseline=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# Durations (seconds) and load shapes.
if [[ $mode == full ]]; then
  warmup_s=10 small_s=10 rate_s=300 big_s=5 sse_samples=50 rate_rounds=1 max_lifetime=14400
else
  warmup_s=3 small_s=3 rate_s=5 big_s=2 sse_samples=15 rate_rounds=$rounds max_lifetime=1800
fi
[[ -n $rate_seconds ]] && rate_s=$rate_seconds
small_threads=2 small_conns=64         # closed loop on small responses
rate_threads=1 rate_conns=32           # fixed rate: 32 connections hold 1,000 req/s up to 32 ms of latency
big_threads=2 big_conns=8              # 1 MiB download and upload
upload_bytes=1048576
sse_query="events=3&intervalMs=20"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_gcServer=${DOTNET_gcServer:-1}

# --- processes and cleanup -------------------------------------------------------------------------

children=()
current=""
side=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n $current ]] && kill -TERM "$current" 2>/dev/null || true
  [[ -n $side ]] && kill -TERM "$side" 2>/dev/null || true
  local pid
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do
    for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background, bounded by a timeout, and waits, so that a signal reaches the
# trap at once instead of after the command.
bounded() {
  local limit=$1
  shift
  timeout --kill-after=5 "$limit" "$@" &
  current=$!
  local status=0
  wait "$current" || status=$?
  current=""
  return "$status"
}

declare -A host_pid host_ports

start_host() {
  local name=$1
  shift
  local log="$out/logs/$name.log"
  local host_dll=$dll
  [[ $name == gateway-baseline ]] && host_dll=$baseline_dll
  dotnet "$host_dll" "$@" --parentPid $$ --maxLifetime "$max_lifetime" >"$log" 2>&1 &
  local pid=$!
  children+=("$pid")
  local deadline=$((SECONDS + 60))
  until grep -qs '^LISTENING ' "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before listening:" >&2
      cat "$log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "$name did not start within 60 s" >&2
      exit 1
    fi
    sleep 0.2
  done
  host_pid[$name]=$pid
  host_ports[$name]=$(sed -n 's/^LISTENING //p' "$log" | head -n 1)
}

# utime + stime of a process, in clock ticks.
cpu_ticks() {
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13}))
}

# --- tools and build -------------------------------------------------------------------------------

install_package() {
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "installing $1 with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "$1" >/dev/null ||
    { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "$1" >/dev/null; }
}
command -v wrk >/dev/null || install_package wrk
command -v curl >/dev/null || install_package curl

if [[ $gateway == auto ]]; then
  if grep -rqsE 'static[^(]*\bAddHardenedProxy[[:space:]]*\(' "$root/src/HardenedGateway" --include='*.cs'; then
    gateway=on
  else
    gateway=off
  fi
fi
if [[ $control == auto ]]; then
  if [[ $gateway == on ]]; then control=gateway; else control=yarp; fi
fi
if ((overload)) && [[ $gateway != on ]]; then
  echo "--overload needs the gateway" >&2
  exit 2
fi
if [[ $control != none && $control != yarp && $control != gateway ]]; then
  echo "--control takes gateway, yarp or none" >&2
  exit 2
fi
if [[ $control == gateway && $gateway != on ]]; then
  echo "--control gateway needs the gateway" >&2
  exit 2
fi

mkdir -p "$root/artifacts"
if ((build)); then
  echo "building Release (gateway: $gateway)" >&2
  if ! dotnet build "$project" -c Release -nologo -v:quiet >"$root/artifacts/loadtest-build.log" 2>&1; then
    cat "$root/artifacts/loadtest-build.log" >&2
    [[ $gateway == on ]] && echo "the gateway host did not build against the current API; --no-gateway runs direct and YARP only" >&2
    exit 1
  fi
fi

baseline_dll=""
if [[ -n $baseline ]]; then
  ((overload)) || { echo "--baseline works with --overload" >&2; exit 2; }
  baseline_root="$root/artifacts/baseline"
  rm -rf "$baseline_root"
  mkdir -p "$baseline_root"
  echo "building the baseline $baseline in $baseline_root" >&2
  git -C "$root" archive "$baseline" | tar -x -C "$baseline_root"
  dotnet build "$baseline_root/tests/HardenedGateway.Benchmarks/HardenedGateway.Benchmarks.csproj" -c Release -nologo -v:quiet >"$root/artifacts/baseline-build.log" 2>&1 ||
    { cat "$root/artifacts/baseline-build.log" >&2; exit 1; }
  baseline_dll="$baseline_root/tests/HardenedGateway.Benchmarks/bin/Release/net10.0/HardenedGateway.Benchmarks.dll"
fi

rm -rf "$out"
mkdir -p "$out/logs"
mv "$root/artifacts/loadtest-build.log" "$out/logs/build.log" 2>/dev/null || true
raw="$out/raw.jsonl"
: >"$raw"

# --- the overload scenario (--overload) ------------------------------------------------------------

# Runs wrk (WRK_CONNS closed-loop connections, when above 0) and the latency probe (PROBE_CONNS)
# side by side against URL for SECONDS, with the target's CPU time and allocations around both, and
# appends one JSON line. The probe times admitted and rejected answers apart; wrk cannot.
measure_overload() {
  local round=$1 target=$2 kind=$3 wrk_conns=$4 probe_conns_now=$5 url=$6 seconds=$7
  local pid=${host_pid[$target]} stats_url="http://127.0.0.1:${host_ports[$target]}/_stats"
  local stats_before stats_after ticks_before ticks_after
  stats_before=$(curl -sf --max-time 5 "$stats_url?reset=true" || echo null)
  ticks_before=$(cpu_ticks "$pid")

  local log="$out/logs/$round-$target-$kind.txt" probe_log="$out/logs/$round-$target-$kind-probe.txt"
  : >"$log"
  if ((wrk_conns > 0)); then
    # 2 s longer than the probe, which needs up to a second or so to start: its window lies inside wrk's.
    timeout --kill-after=5 $((seconds + 60)) wrk -t2 -c"$wrk_conns" -d"$((seconds + 2))s" --timeout 5s -s "$lua/report.lua" "$url" >"$log" 2>&1 &
    side=$!
  fi
  if ((probe_conns_now > 0)); then
    bounded $((seconds + 60)) dotnet "$dll" overload-probe --url "$url" --connections "$probe_conns_now" --seconds "$seconds" >"$probe_log" 2>&1 ||
      echo "warning: $target $kind probe exited with $?" >&2
  fi
  if [[ -n $side ]]; then
    wait "$side" || echo "warning: $target $kind wrk exited with $?" >&2
    side=""
  fi

  ticks_after=$(cpu_ticks "$pid")
  stats_after=$(curl -sf --max-time 5 "$stats_url" || echo null)
  local wrk_json probe_json
  wrk_json=$(sed -n 's/^WRKJSON //p' "$log" | tail -n 1)
  probe_json=""
  [[ -f $probe_log ]] && probe_json=$(sed -n 's/^PROBEJSON //p' "$probe_log" | tail -n 1)
  printf '{"round":%d,"target":"%s","kind":"%s","wrk":%s,"probe":%s,"statsBefore":%s,"statsAfter":%s,"proxyCpuTicks":%d,"clkTck":%d}\n' \
    "$round" "$target" "$kind" "${wrk_json:-null}" "${probe_json:-null}" "${stats_before:-null}" "${stats_after:-null}" \
    $((ticks_after - ticks_before)) "$(getconf CLK_TCK)" >>"$raw"
}

run_overload() {
  local targets=(yarp gateway)
  [[ $control != none ]] && targets+=("$control-control")
  [[ -n $baseline ]] && targets+=(gateway-baseline)
  ((floor)) && targets+=(floor)
  start_host upstream upstream --listeners "${#targets[@]}"
  local upstream_ports
  read -ra upstream_ports <<<"${host_ports[upstream]}"
  local i target kind
  for i in "${!targets[@]}"; do
    target=${targets[$i]}
    local host_mode=${target%-control}
    start_host "$target" "${host_mode%-baseline}" --upstream "http://127.0.0.1:${upstream_ports[$((i + 1))]}/" --overload true --cap "$cap"
  done

  local hold="slow?ms=$hold_ms" wrk_conns=$((overload_conns - probe_conns))
  local load_average
  load_average=$(cut -d' ' -f1-3 /proc/loadavg)
  local started=$SECONDS
  echo "overload scenario: targets ${targets[*]}; cap $cap, upstream holds $hold_ms ms, $overload_conns connections; $rounds rounds; load average $load_average; warming up" >&2
  for target in "${targets[@]}"; do
    local base="http://127.0.0.1:${host_ports[$target]}"
    bounded 60 wrk -t2 -c64 -d"${warmup_s}s" -s "$lua/report.lua" "$base/bench/small" >"$out/logs/warmup-$target.txt" 2>&1 || true
    bounded 60 wrk -t2 -c"$wrk_conns" -d"${warmup_s}s" -s "$lua/report.lua" "$base/shed/$hold" >>"$out/logs/warmup-$target.txt" 2>&1 || true
    bounded 60 wrk -t2 -c"$wrk_conns" -d"${warmup_s}s" -s "$lua/report.lua" "$base/open/$hold" >>"$out/logs/warmup-$target.txt" 2>&1 || true
    bounded 60 dotnet "$dll" overload-probe --url "$base/shed/$hold" --connections "$cap" --seconds 2 >>"$out/logs/warmup-$target.txt" 2>&1 || true
  done

  local round order
  for ((round = 1; round <= rounds; round++)); do
    echo "round $round/$rounds ($((SECONDS - started)) s)" >&2
    order=()
    for ((i = 0; i < ${#targets[@]}; i++)); do
      order+=("${targets[$(((i + round - 1) % ${#targets[@]}))]}")
    done
    for kind in small unloaded shed open; do
      for target in "${order[@]}"; do
        local base="http://127.0.0.1:${host_ports[$target]}"
        sleep 0.5 # the previous run's connections close
        case $kind in
          # A proxied request's cost, the figure a rejection is compared with (issue 10).
          small) measure_overload "$round" "$target" small 64 0 "$base/bench/small" "$small_s" ;;
          # The probe alone with as many connections as the cap: every request admitted.
          unloaded) measure_overload "$round" "$target" unloaded 0 "$cap" "$base/shed/$hold" "$unloaded_s" ;;
          shed) measure_overload "$round" "$target" shed "$wrk_conns" "$probe_conns" "$base/shed/$hold" "$overload_s" ;;
          open) measure_overload "$round" "$target" open "$wrk_conns" "$probe_conns" "$base/open/$hold" "$overload_s" ;;
        esac
      done
    done
  done
  echo "measured in $((SECONDS - started)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)" >&2

  local commit settings
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  settings="cap ${cap}, upstream holds ${hold_ms} ms, ${overload_conns} closed-loop connections (${wrk_conns} wrk + ${probe_conns} probe) ${overload_s} s; unloaded: probe with ${cap} connections ${unloaded_s} s; small: 64 connections ${small_s} s; rounds: ${rounds}; DOTNET_gcServer=${DOTNET_gcServer}"
  dotnet "$dll" overload-report --input "$raw" --output "$out/results.json" --markdown "$out/results.md" \
    --commit "$commit" --settings "$settings" --loadAverage "$load_average"
  echo >&2
  echo "results: $out/results.json, $out/results.md; raw runs: $raw; logs: $out/logs" >&2
}

if ((overload)); then
  unloaded_s=5
  [[ $mode == full ]] && unloaded_s=10
  run_overload
  exit 0
fi

# --- targets ---------------------------------------------------------------------------------------

targets=(direct yarp)
[[ $gateway == on ]] && targets+=(gateway)
[[ $control != none ]] && targets+=("$control-control")

# The upstream listens on one port per target (plus port 0 for the harness), so the connections it
# accepts on each port are the connections that target opened.
start_host upstream upstream --listeners "${#targets[@]}"
read -ra upstream_ports <<<"${host_ports[upstream]}"
upstream_admin="http://127.0.0.1:${upstream_ports[0]}"

declare -A base upstream_index
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  upstream_index[$target]=$((i + 1))
  upstream_uri="http://127.0.0.1:${upstream_ports[$((i + 1))]}/"
  case $target in
    direct) base[$target]="http://127.0.0.1:${upstream_ports[$((i + 1))]}" ;;
    yarp | yarp-control) start_host "$target" yarp --upstream "$upstream_uri" ;;
    gateway | gateway-control) start_host "$target" gateway --upstream "$upstream_uri" ;;
  esac
  [[ $target != direct ]] && base[$target]="http://127.0.0.1:${host_ports[$target]}/bench"
done

upstream_connections() {
  local json list
  json=$(curl -sf --max-time 5 "$upstream_admin/_conns")
  list=${json#*[}
  list=${list%]*}
  local counts
  IFS=, read -ra counts <<<"$list"
  echo "${counts[$1]}"
}

# --- one measured run ------------------------------------------------------------------------------

# measure ROUND TARGET KIND -- COMMAND...: runs COMMAND with the figures around it, appends a JSON line.
measure() {
  local round=$1 target=$2 kind=$3
  shift 4
  local pid=${host_pid[$target]:-} stats_url=""
  [[ -n $pid ]] && stats_url="http://127.0.0.1:${host_ports[$target]}/_stats"
  local stats_before=null stats_after=null proxy_ticks=null
  [[ -n $stats_url ]] && stats_before=$(curl -sf --max-time 5 "$stats_url?reset=true" || echo null)
  local conns_before ticks_before up_ticks_before
  conns_before=$(upstream_connections "${upstream_index[$target]}")
  [[ -n $pid ]] && ticks_before=$(cpu_ticks "$pid")
  up_ticks_before=$(cpu_ticks "${host_pid[upstream]}")

  local log="$out/logs/$round-$target-$kind.txt"
  bounded $((rate_s + small_s + 60)) "$@" >"$log" 2>&1 || echo "warning: $target $kind exited with $?" >&2

  local up_ticks_after conns_after
  up_ticks_after=$(cpu_ticks "${host_pid[upstream]}")
  [[ -n $pid ]] && proxy_ticks=$(($(cpu_ticks "$pid") - ticks_before))
  conns_after=$(upstream_connections "${upstream_index[$target]}")
  [[ -n $stats_url ]] && stats_after=$(curl -sf --max-time 5 "$stats_url" || echo null)

  local wrk_json sse_json=null
  wrk_json=$(sed -n 's/^WRKJSON //p' "$log" | tail -n 1)
  if [[ $kind == sse ]]; then
    sse_json=$(grep -m 1 '^{' "$log" || echo null)
    wrk_json=null
  fi
  printf '{"round":%d,"target":"%s","kind":"%s","wrk":%s,"sse":%s,"statsBefore":%s,"statsAfter":%s,"proxyCpuTicks":%s,"upstreamCpuTicks":%d,"upstreamConnections":%d,"clkTck":%d,"uploadBytes":%d}\n' \
    "$round" "$target" "$kind" "${wrk_json:-null}" "$sse_json" "${stats_before:-null}" "${stats_after:-null}" "$proxy_ticks" \
    $((up_ticks_after - up_ticks_before)) $((conns_after - conns_before)) "$(getconf CLK_TCK)" "$upload_bytes" >>"$raw"
}

run_kind() {
  local round=$1 target=$2 kind=$3 url=${base[$2]}
  case $kind in
    small) measure "$round" "$target" small -- wrk -t$small_threads -c$small_conns -d${small_s}s --timeout 5s -s "$lua/report.lua" "$url/small" ;;
    rate) measure "$round" "$target" rate -- wrk -t$rate_threads -c$rate_conns -d${rate_s}s --timeout 5s -s "$lua/rate.lua" "$url/small" -- "$rate" "$rate_threads" ;;
    download) measure "$round" "$target" download -- wrk -t$big_threads -c$big_conns -d${big_s}s --timeout 10s -s "$lua/report.lua" "$url/download" ;;
    upload) measure "$round" "$target" upload -- wrk -t$big_threads -c$big_conns -d${big_s}s --timeout 10s -s "$lua/upload.lua" "$url/upload" -- "$upload_bytes" ;;
    sse) measure "$round" "$target" sse -- dotnet "$dll" sse-probe --url "$url/sse?$sse_query" --samples "$sse_samples" --warmup 2 ;;
  esac
}

# --- warm-up, then interleaved rounds --------------------------------------------------------------

started=$SECONDS
echo "targets: ${targets[*]}; $mode mode, $rounds rounds; warming up" >&2
for target in "${targets[@]}"; do
  url=${base[$target]}
  bounded 60 wrk -t$small_threads -c$small_conns -d${warmup_s}s -s "$lua/report.lua" "$url/small" >"$out/logs/warmup-$target.txt" 2>&1 || true
  bounded 30 wrk -t$big_threads -c$big_conns -d1s -s "$lua/report.lua" "$url/download" >>"$out/logs/warmup-$target.txt" 2>&1 || true
  bounded 30 wrk -t$big_threads -c$big_conns -d1s -s "$lua/upload.lua" "$url/upload" -- "$upload_bytes" >>"$out/logs/warmup-$target.txt" 2>&1 || true
  bounded 60 dotnet "$dll" sse-probe --url "$url/sse?$sse_query" --samples 3 --warmup 0 >>"$out/logs/warmup-$target.txt" 2>&1 || true
done

for ((round = 1; round <= rounds; round++)); do
  echo "round $round/$rounds ($((SECONDS - started)) s)" >&2
  kinds=(small)
  ((round <= rate_rounds)) && kinds+=(rate)
  kinds+=(download upload sse)
  # Each round starts one place further along (A B C, B C A, C A B): a target measured right after
  # another's heavy run is not always the same one.
  order=()
  for ((i = 0; i < ${#targets[@]}; i++)); do
    order+=("${targets[$(((i + round - 1) % ${#targets[@]}))]}")
  done
  for kind in "${kinds[@]}"; do
    for target in "${order[@]}"; do
      # The fixed-rate runs measure tails: let the previous run's connections close and its GCs finish.
      [[ $kind == rate ]] && sleep 0.5
      run_kind "$round" "$target" "$kind"
    done
  done
done
echo "measured in $((SECONDS - started)) s" >&2

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
settings="small: ${small_conns} connections ${small_s} s; fixed rate: ${rate} req/s on ${rate_conns} connections ${rate_s} s x ${rate_rounds}; 1 MiB: ${big_conns} connections ${big_s} s; rounds: ${rounds}; DOTNET_gcServer=${DOTNET_gcServer}"
dotnet "$dll" report --input "$raw" --output "$out/results.json" --markdown "$out/results.md" \
  --mode "$mode" --commit "$commit" --settings "$settings"
echo >&2
echo "results: $out/results.json, $out/results.md; raw runs: $raw; logs: $out/logs" >&2
