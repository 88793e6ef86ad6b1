#!/usr/bin/env python3
"""Turns the TAP output of scripts/test-runtime-tools.sh into per-test verdicts and checks them.

<out>/<runtime>/<program>.tap (+ .rc) -> <out>/<runtime>.tsv with one row per TAP test point:
    program <TAB> number <TAB> verdict (pass|fail|skip) <TAB> description
plus a row numbered 0 for the program as a whole: several programs have no test points of their own (the *_fail
programs expect `create` to fail and only exit 1 when it does not; poststart_fail/poststop_fail print a YAML
diagnostic with an "error" when the lifecycle did not continue), so row 0 passes when the program exited 0 and, if it
had no test points, printed no error diagnostic. And one row "program <TAB> - <TAB> errored <TAB> why" for a program that exited non-zero with no failing test point,
printed no plan, or ran fewer points than planned (a crash or timeout mid-run).

Then: a summary table per runtime (<out>/summary.md), the ffm-vs-crun table of test points crun passes and ffm does
not, and the regression check: every point that passes in conformance/baseline/ffm.tsv must pass now (when its
program ran). --update-baseline writes the baseline files instead of checking.
"""
import argparse
import os
import re
import sys

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
PLAN = re.compile(r"^1\.\.(\d+)")


def parse_program(tap_path, rc_path):
    rows = []
    planned = None
    with open(tap_path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = PLAN.match(line)
            if m:
                planned = int(m.group(1))
                continue
            m = TAP_LINE.match(line)
            if not m:
                continue
            ok, num, desc = m.group(1) == "ok", m.group(2), m.group(3).strip()
            num = num or str(len(rows) + 1)
            verdict = "pass" if ok else "fail"
            if re.search(r"#\s*skip", desc, re.I):
                verdict = "skip"
            elif re.search(r"#\s*todo", desc, re.I) and not ok:
                verdict = "skip"
            rows.append((num, verdict, re.sub(r"\s+", " ", desc)[:200]))
    text = open(tap_path, errors="replace").read()
    rc = 0
    try:
        with open(rc_path) as f:
            rc = int(f.read().strip() or 0)
    except (OSError, ValueError):
        rc = -1
    why = None
    if planned is None and rc != 0:
        why = "no TAP plan (exit %d)" % rc
    elif planned is not None and len(rows) < planned:
        why = "ran %d of %d planned (exit %d)" % (len(rows), planned, rc)
    elif rc != 0 and all(v != "fail" for _, v, _ in rows):
        why = "exit %d" % rc
    if rc == 124 or rc == 137:
        why = "timed out (exit %d)" % rc
    error_diag = re.search(r'"error":\s*"[^"]', text) is not None
    whole_ok = rc == 0 and (len(rows) > 0 or not error_diag)
    rows.insert(0, ("0", "pass" if whole_ok else "fail", "program completed (exit %d%s)"
                    % (rc, ", error diagnostic" if error_diag and not rows else "")))
    return rows, why


def load_run(out, rt):
    d = os.path.join(out, rt)
    result = {}
    errored = {}
    if not os.path.isdir(d):
        return result, errored
    for name in sorted(os.listdir(d)):
        if not name.endswith(".tap"):
            continue
        prog = name[:-4]
        rows, why = parse_program(os.path.join(d, name), os.path.join(d, prog + ".rc"))
        for num, verdict, desc in rows:
            result[(prog, num)] = (verdict, desc)
        if why:
            errored[prog] = why
    return result, errored


def write_tsv(path, result, errored):
    with open(path, "w") as f:
        for (prog, num), (verdict, desc) in sorted(result.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            f.write("%s\t%s\t%s\t%s\n" % (prog, num, verdict, desc))
        for prog, why in sorted(errored.items()):
            f.write("%s\t-\terrored\t%s\n" % (prog, why))


def read_tsv(path):
    result, errored = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            if parts[1] == "-":
                errored[parts[0]] = parts[3] if len(parts) > 3 else ""
            else:
                result[(parts[0], parts[1])] = (parts[2], parts[3] if len(parts) > 3 else "")
    return result, errored


def counts(result, errored):
    c = {"pass": 0, "fail": 0, "skip": 0}
    for verdict, _ in result.values():
        c[verdict] += 1
    programs = {p for p, _ in result} | set(errored)  # every program has a row 0
    return c["pass"], c["fail"], c["skip"], len(errored), len(programs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--runtimes", default="ffm,youki,runc,crun")
    ap.add_argument("--update-baseline", action="store_true")
    a = ap.parse_args()
    runtimes = [r for r in a.runtimes.split(",") if r]
    runs = {rt: load_run(a.out, rt) for rt in runtimes}
    lines = ["| runtime | programs | pass | fail | skip | errored programs | seconds |", "|---|---|---|---|---|---|---|"]
    for rt in runtimes:
        result, errored = runs[rt]
        write_tsv(os.path.join(a.out, rt + ".tsv"), result, errored)
        p, f, s, e, n = counts(result, errored)
        secs = ""
        try:
            with open(os.path.join(a.out, rt + ".seconds")) as fh:
                secs = fh.read().strip()
        except OSError:
            pass
        lines.append("| %s | %d | %d | %d | %d | %d | %s |" % (rt, n, p, f, s, e, secs))
    if "ffm" in runs and "crun" in runs:
        ffm, ffm_err = runs["ffm"]
        crun, _ = runs["crun"]
        # A program that ffm passes as a whole and crun fails as a whole (process_capabilities_fail: crun runs a
        # config it must reject, and runtimetest then reports on that container) is not a gap of ffm.
        better = {p for (p, n), v in ffm.items() if n == "0" and v[0] == "pass" and crun.get((p, n), ("",))[0] != "pass"}
        gaps = [(k, crun[k][1]) for k in sorted(crun, key=lambda k: (k[0], int(k[1])))
                if crun[k][0] == "pass" and ffm.get(k, ("missing",))[0] != "pass"
                and k[0] in {p for p, _ in ffm} | set(ffm_err) and k[0] not in better]
        lines += ["", "Test points crun passes and ffm does not (%d; row 0 is the program as a whole):" % len(gaps), "",
                  "| program | # | ffm | description |", "|---|---|---|---|"]
        for (prog, num), desc in gaps[:40]:
            lines.append("| %s | %s | %s | %s |" % (prog, num, ffm.get((prog, num), ("missing",))[0],
                                                    desc.replace("|", "/")))
    summary = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(summary)
    print(summary)

    if a.update_baseline:
        os.makedirs(a.baseline, exist_ok=True)
        for rt in runtimes:
            write_tsv(os.path.join(a.baseline, rt + ".tsv"), *runs[rt])
        print("baseline written to %s" % a.baseline)
        return 0

    status = 0
    base_path = os.path.join(a.baseline, "ffm.tsv")
    if "ffm" in runs:
        if not os.path.exists(base_path):
            print("FAIL: no baseline %s (run with --update-baseline)" % base_path)
            return 1
        base, _ = read_tsv(base_path)
        flaky = set()
        flaky_path = os.path.join(os.path.dirname(os.path.abspath(a.baseline)), "flaky.tsv")
        if os.path.exists(flaky_path):
            with open(flaky_path) as fh:
                for line in fh:
                    parts = line.split("\t")
                    if len(parts) >= 2 and not line.startswith("#"):
                        flaky.add((parts[0], parts[1]))
        ffm, ffm_err = runs["ffm"]
        ran = {p for p, _ in ffm} | set(ffm_err)
        regressions = [(k, v[1]) for k, v in sorted(base.items(), key=lambda kv: (kv[0][0], int(kv[0][1])))
                       if v[0] == "pass" and k[0] in ran and ffm.get(k, ("missing",))[0] != "pass"
                       and k not in flaky]
        for (prog, num), desc in regressions:
            print("REGRESSION ffm %s #%s (%s): %s" % (prog, num, ffm.get((prog, num), ("missing",))[0], desc))
            status = 3
        with open(os.path.join(a.out, "ffm-regressed.txt"), "w") as fh:
            fh.write("".join("%s\n" % p for p in sorted({p for (p, _), _ in regressions})))
        improved = [k for k, v in ffm.items() if v[0] == "pass" and base.get(k, ("",))[0] != "pass"]
        if improved:
            print("ffm now passes %d points the baseline does not: update it with --update-baseline" % len(improved))
        if not regressions:
            print("ffm: no regression against %s" % base_path)
    return status


if __name__ == "__main__":
    sys.exit(main())
