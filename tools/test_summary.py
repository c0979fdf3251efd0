"""Counts every test case run by `meson test` in one or more build dirs (default build; tools/test
also passes build-asan): the JUnit reports the suites write to BUILD/test-reports/<meson test
name>.xml, and one case for any meson test without a report (a fuzz run is one case). A build
dir without a test log counts as one failure. For each failed meson test it prints what failed:
the failed cases of its report with their messages, or, when the report names none (a sanitizer
report at exit, a crash), the end of its output. Prints "N passed, N failed" (", N skipped" when
some were) as the last line; exits 1 on failures."""
import json
import os
import sys
import xml.etree.ElementTree as ET


def junit_counts(path):
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            failed += 1
            for child in case:
                if child.tag in ("failure", "error"):
                    text = "\n".join(filter(None, [child.get("message"), child.text]))
                    print("FAILED %s: %s\n%s" % (os.path.basename(path), case.get("name"),
                                                 tail(text, 20)))
        elif "skipped" in kinds:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def tail(text, lines):
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def count(build):
    passed = failed = skipped = 0
    try:
        with open(os.path.join(build, "meson-logs", "testlog.json")) as f:
            runs = [json.loads(line) for line in f if line.strip()]
    except OSError:
        runs = []
    if not runs:
        print("%s: no tests ran" % build)
        return 0, 1, 0
    for run in runs:
        # meson names tests "project:suite / name"; reports are named after the last part
        name = run["name"].split(" / ")[-1]
        report = os.path.join(build, "test-reports", name + ".xml")
        ok = run["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
        p = fl = s = 0
        if os.path.exists(report):
            p, fl, s = junit_counts(report)
        if not ok and fl == 0:
            # crashed, timed out, or failed after its report was written (a sanitizer at exit)
            fl = 1
            print("FAILED %s: %s, exit status %s; the end of its output:\n%s"
                  % (run["name"], run["result"], run.get("returncode"),
                     tail(run.get("stdout") or "", 40)))
        elif ok and not os.path.exists(report):
            p = 1
        passed, failed, skipped = passed + p, failed + fl, skipped + s
    return passed, failed, skipped


def main(builds):
    passed = failed = skipped = 0
    for build in builds:
        p, fl, s = count(build)
        passed, failed, skipped = passed + p, failed + fl, skipped + s
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["build"]))
