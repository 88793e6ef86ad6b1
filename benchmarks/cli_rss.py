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
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execvpe(argv[0], argv, env or os.environ)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss


def main():
    bundle, out = sys.argv[1], sys.argv[2]
    clis = dict(a.split("=", 1) for a in sys.argv[3:])
    results = {"host": {"kernel": platform.release(), "cpus": os.cpu_count(), "machine": platform.machine()},
               "unit": "KiB (ru_maxrss of the single CLI process)", "runtimes": {}}
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
