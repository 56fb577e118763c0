"""Runs every ``test_*`` function of every ``test_*.py`` file in this folder.

Usage: python3 NrpHost.Tests/NrpCore/python/run_tests.py [name-filter]
Prints one line per failure, then ``N passed, N failed``; exits 1 on failure.
"""

import importlib.util
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", "NrpHost.Core", "python", "embedded"))
HOST_ROOT = os.path.dirname(PYTHON_ROOT)  # nrphost (its Python stand-in for the native stamps)
TEST_PATTERN = re.compile(r"^def (test_\w+)\(\):", re.MULTILINE)


def main(argv):
    name_filter = argv[1] if len(argv) > 1 else ""
    for path in (HOST_ROOT, PYTHON_ROOT, HERE):
        if path not in sys.path:
            sys.path.insert(0, path)
    passed = failed = 0
    started = time.perf_counter()
    for file_name in sorted(os.listdir(HERE)):
        if not (file_name.startswith("test_") and file_name.endswith(".py")):
            continue
        path = os.path.join(HERE, file_name)
        with open(path, encoding="utf-8") as f:
            names = TEST_PATTERN.findall(f.read())
        spec = importlib.util.spec_from_file_location(file_name[:-3], path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception:
            failed += len(names) or 1
            print(f"ERROR importing {file_name}")
            traceback.print_exc()
            continue
        for name in names:
            if name_filter and name_filter not in f"{file_name}::{name}":
                continue
            try:
                getattr(module, name)()
            except Exception:
                failed += 1
                print(f"FAIL {file_name}::{name}")
                traceback.print_exc()
            else:
                passed += 1
    elapsed = time.perf_counter() - started
    print(f"{passed} passed, {failed} failed ({elapsed:.1f} s, python {sys.version.split()[0]})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
