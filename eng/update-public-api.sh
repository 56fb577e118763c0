#!/usr/bin/env bash
# Brings PublicAPI.Unshipped.txt in line with the code: adds every public symbol the PublicApiAnalyzers report as
# undeclared (RS0016) and drops every declared symbol that no longer exists (RS0017).
set -euo pipefail
cd "$(dirname "$0")/../NrpHost.Core"
out=$(dotnet build --no-incremental 2>&1 || true)
grep -o "RS0016: Symbol '[^']*'" <<<"$out" | sed "s/RS0016: Symbol '//; s/'$//" | sort -u > /tmp/nrphost-api-add.txt || true
grep -o "RS0017: Symbol '[^']*'" <<<"$out" | sed "s/RS0017: Symbol '//; s/'$//" | sort -u > /tmp/nrphost-api-drop.txt || true
{ cat PublicAPI.Unshipped.txt; cat /tmp/nrphost-api-add.txt; } | grep -v '^#nullable' | grep -vxF -f /tmp/nrphost-api-drop.txt | sort -u > /tmp/nrphost-api-all.txt || true
{ echo '#nullable enable'; cat /tmp/nrphost-api-all.txt; } > PublicAPI.Unshipped.txt
echo "$(wc -l < /tmp/nrphost-api-add.txt) symbols added, $(wc -l < /tmp/nrphost-api-drop.txt) dropped"
