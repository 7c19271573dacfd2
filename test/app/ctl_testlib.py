"""Shared harness of the iommuctl test scripts (iommuctl_test.py, iommuctl_live_test.py).

The script's first argument is the build directory; BIN is the iommuctl built
there. Each @test function is run once at import of its definition; it
passes if it returns, is skipped if it calls skip(), fails on any other
exception. finish() prints the
UT-RESULT line and exits non-zero if any test failed.
"""
import json
import os
import subprocess
import sys

BUILD = sys.argv[1]
BIN = os.path.join(BUILD, "bin", "iommuctl")
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def run_json(*args, rc=0):
    code, out, err = run("--json", *args)
    if code != rc:
        raise AssertionError(f"iommuctl {' '.join(args)}: exit {code}, expected {rc}: {err}")
    return json.loads(out)


class Skip(Exception):
    """Raised by skip(): the test is counted skipped, not passed."""


def test(fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"  PASS {fn.__name__}")
    except Skip as s:
        RESULTS["skipped"] += 1
        print(f"  SKIP {fn.__name__}: {s}")
    except Exception as e:  # noqa: BLE001 - every failure is reported
        RESULTS["failed"] += 1
        print(f"  FAIL {fn.__name__}: {e!r}")
    return fn


def skip(why):
    """End the calling test as skipped, saying why."""
    raise Skip(why)


def eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def finish():
    print("UT-RESULT passed=%d failed=%d skipped=%d" % (RESULTS["passed"], RESULTS["failed"],
                                                       RESULTS["skipped"]))
    sys.exit(1 if RESULTS["failed"] else 0)
