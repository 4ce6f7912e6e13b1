#!/usr/bin/env bash
# Packs the packages, HardenedGateway, HardenedGateway.Prometheus and HardenedGateway.Redis, with their symbol packages
# (.snupkg) into artifacts/packages (or the folder given as the first argument).
#   build/pack.sh                       version from Directory.Build.props (VersionPrefix)
#   VERSION=1.2.3-rc.1 build/pack.sh    an explicit version
# Release build, ContinuousIntegrationBuild on (deterministic paths in the PDBs), package validation on.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-artifacts/packages}"
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

args=(-c Release -o "$out" -p:ContinuousIntegrationBuild=true)
if [ -n "${VERSION:-}" ]; then
  args+=("-p:Version=$VERSION")
fi

for project in src/HardenedGateway/HardenedGateway.csproj src/HardenedGateway.Prometheus/HardenedGateway.Prometheus.csproj src/HardenedGateway.Redis/HardenedGateway.Redis.csproj; do
  dotnet pack "$project" "${args[@]}"
done

ls -1 "$out"
