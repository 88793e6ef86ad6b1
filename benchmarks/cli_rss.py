#!/usr/bin/env python3
"""Peak RSS of one invocation of each runtime CLI, measured with wait4()'s rusage (ru_maxrss of that child only).

For each CLI it runs `<cli> --root <tmp> state <missing-id>` style no-op invocations (`--version` and `list`) and a
real `create` of the shared benchmark bundle, recording the peak RSS of that single process. Checks the seed's
youki-vs-runc memory claims with our own numbers. Writes benchmarks/results/cli-rss.json.

Usage: cli_rss.py BUNDLE OUT.json youki=/path runc=/usr/sbin/runc crun=/usr/bin/crun
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time


def run_measured(argv, env=None):
    """Runs argv under GNU time and returns (exit code, max RSS in KiB) of that process alone.

    ru_maxrss from a wait4() on a child forked from Python would include the Python copy the child was before
    exec (maxrss survives exec); GNU time is a small C program, so its child's pre-exec footprint is negligible.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        p = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%M"] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=120)
        lines = [l for l in open(out.name).read().split() if l.strip().isdigit()]
        return p.returncode, int(lines[-1]) if lines else -1


def main():
    bundle, out = sys.argv[1], sys.argv[2]
    clis = dict(a.split("=", 1) for a in sys.argv[3:])
    results = {"host": {"kernel": platform.release(), "cpus": os.cpu_count(), "machine": platform.machine()},
               "unit": "KiB (GNU time %M: max RSS of the single CLI process)", "runtimes": {}}
    for name, path in clis.items():
        prefix = []
        if name == "crun" and os.environ.get("YFFM_CRUN_MNTNS"):
            prefix = ["nsenter", "--mount=" + os.environ["YFFM_CRUN_MNTNS"]]
        root = tempfile.mkdtemp(prefix=f"cli-rss-{name}-", dir="/run")
        r = {}
        rc, kb = run_measured(prefix + [path, "--version"])
        r["version"] = {"rc": rc, "maxrss_kb": kb}
        rc, kb = run_measured(prefix + [path, "--root", root, "list"])
        r["list"] = {"rc": rc, "maxrss_kb": kb}
        cid = f"rss-{name}-{os.getpid()}"
        t = time.monotonic()
        rc, kb = run_measured(prefix + [path, "--root", root, "create", "--bundle", bundle, cid])
        r["create"] = {"rc": rc, "maxrss_kb": kb, "seconds": round(time.monotonic() - t, 4)}
        rc, kb = run_measured(prefix + [path, "--root", root, "delete", "--force", cid])
        r["delete"] = {"rc": rc, "maxrss_kb": kb}
        subprocess.run(["rm", "-rf", root], check=False)
        results["runtimes"][name] = r
        print(name, json.dumps(r))
    with open(out, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
