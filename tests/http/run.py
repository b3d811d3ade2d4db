#!/usr/bin/env python3
"""
Runs the HTTP tests: every test_* function of tests/http/test_*.py, in file
and source order.

    python3 tests/http/run.py --binary build/asan/yizhan [--store-base postgresql://...] [-k pattern]

Prints "ok NAME", "skip NAME: reason" or "FAIL NAME: reason" (with the
traceback) per test, and ends with "N passed, M failed" (", K skipped").
Exit status 1 when anything failed.
"""
import argparse
import importlib.util
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def discover(pattern):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        path = os.path.join(HERE, fn)
        name = fn[:-3]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        found = []
        for attr, obj in vars(mod).items():
            if attr.startswith("test_") and inspect.isfunction(obj) and obj.__module__ == name:
                found.append((obj.__code__.co_firstlineno, "%s.%s" % (name, attr), obj))
        for _, full, obj in sorted(found):
            if pattern and pattern not in full:
                continue
            tests.append((full, obj))
    return tests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=harness.CONFIG["binary"], help="the yizhan binary (ASan build)")
    ap.add_argument("--store-base", default=None,
                    help="PostgreSQL URI; each server gets a fresh database created through it")
    ap.add_argument("-k", dest="pattern", default=None, help="run only tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the data folders")
    args = ap.parse_args()

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print("run.py: %s is not an executable (make build/asan/yizhan)" % binary, file=sys.stderr)
        return 2
    harness.CONFIG["binary"] = binary
    harness.CONFIG["store_base"] = args.store_base
    harness.CONFIG["keep"] = args.keep

    tests = discover(args.pattern)
    passed = failed = skipped = 0
    t0 = time.time()
    for name, fn in tests:
        try:
            fn()
        except harness.Skip as e:
            skipped += 1
            print("skip %s: %s" % (name, e), flush=True)
            continue
        except Exception as e:   # noqa: BLE001
            failed += 1
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            print("FAIL %s: %s" % (name, first), flush=True)
            print("".join("    " + l for l in traceback.format_exc().splitlines(True)), flush=True)
            continue
        passed += 1
        print("ok %s" % name, flush=True)

    for key, err in harness.stop_shared():
        failed += 1
        print("FAIL teardown.shared_server[%s]: %s" % (key, err.splitlines()[0] if err else ""), flush=True)
        print("    " + err.replace("\n", "\n    "), flush=True)

    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print("(%.1fs)" % (time.time() - t0), file=sys.stderr)
    print(summary, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
