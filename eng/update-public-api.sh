#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared to PublicAPI.Unshipped.txt.
set -euo pipefail
cd "$(dirname "$0")/../NrpHost.Core"
dotnet build --no-incremental 2>&1 | grep -o "RS0016: Symbol '[^']*'" | sed "s/RS0016: Symbol '//; s/'$//" | sort -u > /tmp/nrphost-api.txt || true
{ cat PublicAPI.Unshipped.txt; cat /tmp/nrphost-api.txt; } | grep -v '^#nullable' | sort -u > /tmp/nrphost-api-all.txt
{ echo '#nullable enable'; cat /tmp/nrphost-api-all.txt; } > PublicAPI.Unshipped.txt
echo "$(wc -l < /tmp/nrphost-api.txt) symbols added"
