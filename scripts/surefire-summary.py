#!/usr/bin/env python3
"""Sums the Surefire XML reports of every module and prints one closing line.

Usage: surefire-summary.py [ROOT] [REPORTS_DIR_NAME]  (default surefire-reports; the cgroup v2 stage has its own).

Exits non-zero when a test was skipped and CI=true (a skipped real-container test is a defect), or when no test
ran at all.
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

root = sys.argv[1] if len(sys.argv) > 1 else "."
reports = sys.argv[2] if len(sys.argv) > 2 else "surefire-reports"
tests = failures = errors = skipped = 0
skipped_names = []
for path in glob.glob(os.path.join(root, "*", "target", reports, "TEST-*.xml")):
    suite = ET.parse(path).getroot()
    tests += int(suite.get("tests", 0))
    failures += int(suite.get("failures", 0))
    errors += int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
    for case in suite.iter("testcase"):
        if case.find("skipped") is not None:
            skipped_names.append(f"{case.get('classname')}.{case.get('name')}")
passed = tests - failures - errors - skipped
print(f"Tests: {passed} passed, {failures + errors} failed, {skipped} skipped")
for n in skipped_names:
    print(f"  skipped: {n}")
if tests == 0:
    print("no tests ran", file=sys.stderr)
    sys.exit(1)
if skipped and os.environ.get("CI", "").lower() == "true":
    print("CI=true: skipped tests count as failures", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failures + errors else 0)
