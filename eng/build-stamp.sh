#!/bin/sh
# Builds NrpHost's native step stamps (NrpHost.Core/native/_stamp.c) into OUTPUT, against the stable ABI of the
# CPython 3.11 (or later) that `python3` (or $NRPHOST_BUILD_PYTHON) finds: one file serves every CPython from 3.11 on.
# Called by NrpHost.Core's build; without a C compiler or CPython's headers it says so and builds nothing, and
# step-latency profiling then uses the slower Python stamps (nrphost/profiling.py).
#
#   eng/build-stamp.sh SOURCE OUTPUT
set -u
source=$1
output=$2
python=${NRPHOST_BUILD_PYTHON:-python3}
cc=${CC:-cc}

skip() {
  echo "NrpHost: native step stamps not built ($1); step-latency profiling will use the slower Python stamps." >&2
  rm -f "$output"
  exit 0
}

command -v "$cc" >/dev/null 2>&1 || skip "no C compiler '$cc'; install gcc"
include=$("$python" -c 'import sys, sysconfig; assert sys.version_info >= (3, 11); print(sysconfig.get_paths()["include"])' 2>/dev/null) \
  || skip "no CPython 3.11 or later as '$python'"
[ -f "$include/Python.h" ] || skip "no CPython headers in $include; install libpython3-dev"
mkdir -p "$(dirname "$output")"
"$cc" -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -I"$include" -o "$output.tmp" "$source" \
  || skip "the compiler failed"
mv -f "$output.tmp" "$output"
