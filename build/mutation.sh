#!/usr/bin/env bash
# Mutation testing (issue 10, RS-001 "test strength") of the core's Limiting, CircuitBreaking, Buffers
# and Metrics folders against the unit tests, with Stryker.NET. Not part of CI: it takes a long time
# (tens of minutes on a 2-core machine). The score and the survivors go in docs/reliability.md.
#
#   build/mutation.sh                 all four folders
#   build/mutation.sh Limiting        one folder (Limiting, CircuitBreaking, Buffers or Metrics)
#   STRYKER_VERSION=5.0.0 build/mutation.sh
#
# Stryker is installed by this script as a local .NET tool (a tool manifest under
# artifacts/mutation/, which git ignores); nothing is installed globally. Reports: the HTML and JSON
# files under artifacts/mutation/StrykerOutput/, and the score on stdout.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work="$root/artifacts/mutation"
version="${STRYKER_VERSION:-5.1.0}"
folders=("$@")
if [ "${#folders[@]}" -eq 0 ]; then
  folders=(Limiting CircuitBreaking Buffers Metrics)
fi

mkdir -p "$work"
cd "$work"
if [ ! -f .config/dotnet-tools.json ]; then
  dotnet new tool-manifest --force >/dev/null
fi
if ! dotnet tool list --local | grep -q "dotnet-stryker *$version"; then
  dotnet tool install dotnet-stryker --local --version "$version"
fi

# One mutate pattern per folder, relative to the mutated project.
mutate=""
for folder in "${folders[@]}"; do
  case "$folder" in
    Limiting|CircuitBreaking|Buffers|Metrics) ;;
    *) echo "unknown folder: $folder (Limiting, CircuitBreaking, Buffers, Metrics)" >&2; exit 2 ;;
  esac
  mutate="$mutate${mutate:+,}\"$folder/**/*.cs\""
done

cat > "$work/stryker-config.json" <<JSON
{
  "stryker-config": {
    "project": "HardenedGateway.csproj",
    "test-projects": ["$root/tests/HardenedGateway.Tests/HardenedGateway.Tests.csproj"],
    "mutate": [$mutate],
    "reporters": ["progress", "html", "json", "cleartext"],
    "concurrency": ${STRYKER_CONCURRENCY:-2},
    "thresholds": { "high": 90, "low": 80, "break": 0 },
    "additional-timeout": 5000
  }
}
JSON

# Run from the manifest's folder so that the local tool is found; the test project names the code under test.
cd "$work"
dotnet tool run dotnet-stryker --config-file "$work/stryker-config.json" --output "$work/StrykerOutput"
