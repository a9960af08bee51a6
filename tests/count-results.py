#!/usr/bin/env python3
"""count-results.py - add up individual test cases from the logs of a test run.

Reads Check's "N%: Checks: N, Failures: F, Errors: E" lines, unittest's
"Ran N tests" / "FAILED (failures=F, errors=E)" lines and the browser
suite's "N passed, M failed" line (also that of any script given as
"summary:LOG", e.g. tests/nginx/run.sh) and the fuzz run's "PASS: fuzz_x" /
"FAIL: fuzz_x" lines (one test case per fuzz target), and prints the
total as one closing line "N passed, M failed".
"""
import pathlib
import re
import sys

passed = failed = 0


def count_text(text):
    global passed, failed
    for m in re.finditer(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", text):
        total, f, e = map(int, m.groups())
        passed += total - f - e
        failed += f + e
    for m in re.finditer(r"^Ran (\d+) tests?", text, re.M):
        total = int(m.group(1))
        rest = text[m.end():m.end() + 400]
        fm = re.search(r"^FAILED \(([^)]*)\)", rest, re.M)
        bad = sum(int(x) for x in re.findall(r"(?:failures|errors)=(\d+)", fm.group(1))) if fm else 0
        skipped = re.search(r"skipped=(\d+)", rest)
        passed += total - bad - (int(skipped.group(1)) if skipped else 0)
        failed += bad


for arg in sys.argv[1:]:
    if arg.startswith("fuzz:"):
        text = pathlib.Path(arg[5:]).read_text(errors="replace")
        passed += len(re.findall(r"^PASS: fuzz", text, re.M))
        failed += len(re.findall(r"^FAIL: fuzz", text, re.M))
        if not re.search(r"^fuzz: \d+ targets", text, re.M):
            failed += 1  # the run died before its summary
        continue
    if arg.startswith(("browser:", "summary:")):
        text = pathlib.Path(arg.split(":", 1)[1]).read_text(errors="replace")
        m = re.findall(r"^(\d+) passed, (\d+) failed", text, re.M)
        if m:
            passed += int(m[-1][0])
            failed += int(m[-1][1])
        continue
    for log in sorted(pathlib.Path(arg, "tests").rglob("*.log")):
        count_text(log.read_text(errors="replace"))

print(f"{passed} passed, {failed} failed")
