#!/usr/bin/env python3
"""Turns the committed JMH JSON into the BENCHMARKS.md tables and a PNG chart.

Usage: report.py RESULTS_DIR OUT_MD
Reads RESULTS_DIR/lifecycle.json (JMH -rf json, SampleTime, optionally with -prof gc), RESULTS_DIR/machine.json,
and, if present, RESULTS_DIR/cli-rss.json, RESULTS_DIR/rss-soak.json, RESULTS_DIR/design.json and
RESULTS_DIR/supervise-<runtime>.json (SupervisorLoad; chart supervise.png).
Writes RESULTS_DIR/lifecycle.png and the markdown file.
"""
import json
import os
import sys

OPS = ["create", "start", "state", "killDelete", "lifecycle"]
RUNTIMES = ["ffm", "youki", "runc", "crun"]


def load(path):
    with open(path) as f:
        return json.load(f)


def chart(results_dir, fname, alt, draw):
    """Draws a PNG into RESULTS_DIR/fname with draw(plt) (which returns the figure); the markdown image line, or a
    note when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "(matplotlib not installed: no chart)"
    fig = draw(plt)
    fig.tight_layout()
    fig.savefig(os.path.join(results_dir, fname), dpi=110)
    return f"![{alt}](benchmarks/results/{fname})"


def jmh_table(path):
    """A p50/p99/alloc table of any JMH SampleTime/AverageTime JSON, one row per benchmark and params."""
    data = load(path)
    out = ["| benchmark | params | p50 | p99 | unit | alloc (B/op) |", "| --- | --- | ---: | ---: | --- | ---: |"]
    base = {}
    for e in data:
        name = e["benchmark"].rsplit(".", 2)
        name = f"{name[-2]}.{name[-1]}"
        params = ", ".join(f"{k}={v}" for k, v in sorted(e.get("params", {}).items()))
        pm = e["primaryMetric"]
        pct = pm.get("scorePercentiles", {})
        p50 = pct.get("50.0", pm.get("score"))
        p99 = pct.get("99.0")
        sec = e.get("secondaryMetrics", {})
        alloc = (sec.get("gc.alloc.rate.norm") or sec.get("·gc.alloc.rate.norm") or {}).get("score")
        out.append(f"| {name} | {params} | {p50:.3f} | {'' if p99 is None else f'{p99:.3f}'} | {pm.get('scoreUnit', '')} | "
                   f"{'n/a' if alloc is None else f'{alloc:.0f}'} |")
    return out


EXTRA = [("exec.json", "Exec probe latency (ExecBenchmark: `true` and `echo ok` with captured output, into one running container)"),
         ("image.json", "Images (ImageBenchmark)"),
         ("registry-pull.json", "Registry pulls (RegistryPullBenchmark: 5 layers, ~50 MB, loopback docker-registry; "
          "yffm RegistryClient vs skopeo copy)"),
         ("network.json", "CNI networks on ffm (NetworkBenchmark: create+network+start and teardown; none / bridge / "
                          "bridge+portmap)"),
         ("cni.json", "CNI alone (CniBenchmark: one ADD or DEL into a netns, no container; the fast path's baseline)"),
         ("cni-fastpath.json", "CNI ADD/DEL alone, plugins vs fast path (CniBenchmark: bridge execs the plugins, "
                               "bridge-fast is in-process)"),
         ("network-fastpath.json", "Network fast path on ffm (NetworkBenchmark: create+network+start and teardown; none / "
                                   "bridge through the plugins / bridge-fast in-process)"),
         ("head-of-line.json", "Head-of-line (HeadOfLineBenchmark: state() of another container and SIGKILL-to-onExit "
                               "delay, idle / beside 4 churning threads / beside a create whose hook sleeps 20 s)"),
         ("head-of-line-many.json", "Head-of-line on a full node (HeadOfLineBenchmark, `churn4many`: state() of another "
                                    "container and exit delivery beside 4 churning threads and 300 running containers)"),
         ("exit-delivery.json", "Exit delivery (HeadOfLineBenchmark: SIGKILL-to-onExit, and death-to-onExit where the clock "
                                "starts when the benchmark's own pidfd sees the init dead; idle and beside 4 churning threads; wakeFloor: two "
                                "thread wake-ups in a row with no work, the floor for a delivery through the helper)"),
         ("lifecycle-wave2.json", "Lifecycle on the per-call-worker core (LifecycleBenchmark create/state/lifecycle, ffm, "
                                  "youki, crun; rerun of the idle figures)"),
         ("seccomp.json", "Seccomp profile cost at create (SeccompBenchmark: default allow-list on x86_64+x86+x32, "
                          "the same for x86_64 only, the former deny-list, none)")]



def network_interleaved_section(path):
    """NetworkInterleaved: none / plugins / fast path, one container of each per round (equal load drift)."""
    if not os.path.exists(path):
        return []
    d = load(path)
    md = ["## Network fast path, interleaved (NetworkInterleaved: one container per mode in turn, "
          f"{d['rounds']} rounds; load average {d['loadavgBefore'].split()[0]} before, "
          f"{d['loadavgAfter'].split()[0]} after)", "",
          "| mode | create+network+start p50 | p90 | p99 | added p50 | teardown p50 | p90 | p99 | added p50 |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    base = d["ms"]["none"]
    for mode, r in d["ms"].items():
        c, t = r["createNetworkStart"], r["teardown"]
        md.append(f"| {mode} | {c['p50']:.1f} ms | {c['p90']:.1f} | {c['p99']:.1f} | "
                  f"{c['p50'] - base['createNetworkStart']['p50']:+.1f} | {t['p50']:.1f} ms | {t['p90']:.1f} | "
                  f"{t['p99']:.1f} | {t['p50'] - base['teardown']['p50']:+.1f} |")
    return md + [""]


def supervise_section(results_dir):
    """Supervision under load (SupervisorLoad): one row per runtime, plus a jitter/CPU chart."""
    runs = []
    for rt in RUNTIMES:
        path = os.path.join(results_dir, f"supervise-{rt}.json")
        if os.path.exists(path):
            runs.append(load(path))
    if not runs:
        return []
    md = ["## Supervision under load (SupervisorLoad)", "",
          f"{runs[0]['containers']} supervised containers, each with an {runs[0]['probe']}, measured for "
          f"{runs[0]['seconds']} s after a 15 s warm-up. Jitter = probe start minus its tick on the fixed-rate grid. "
          "CPU in % of one core: the JVM itself; the ffm helper process and the processes it reaped (the exec'd "
          "probes); for the CLIs, the reaped CLI processes (and what they reaped). The machine was shared with other "
          "work: its load average and busy share during the run are in the last columns.", "",
          "| runtime | probes/s | failures | jitter p50 (ms) | p99 (ms) | max (ms) | JVM CPU % | helper CPU % | "
          "children CPU % | JVM threads (peak) | library threads | machine busy % | load avg before / after |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in runs:
        children = r["helperChildrenCpuPercent"] + r["reapedChildrenCpuPercent"]
        md.append(f"| {r['runtime']} | {r['probesPerSecond']:.1f} | {r['probeFailures']} | {r['jitterP50Ms']:.2f} | "
                  f"{r['jitterP99Ms']:.1f} | {r['jitterMaxMs']:.0f} | {r['jvmCpuPercent']:.1f} | "
                  f"{r['helperCpuPercent']:.1f} | {children:.1f} | {r['jvmThreads']} ({r['jvmPeakThreads']}) | "
                  f"{r['libraryPlatformThreads']} | {r['machineBusyPercent']:.0f} | "
                  f"{' '.join(r['loadavgBefore'].split()[:3])} / {' '.join(r['loadavgAfter'].split()[:3])} |")
    md.append("")
    netns = os.path.join(results_dir, "netns-probe.json")
    if os.path.exists(netns):
        n = load(netns)
        md += ["HTTP/TCP probe design (`NetnsProbeCost`): a connect into the container's network namespace through the "
               "setns hop thread, against the fork+exec a per-probe helper costs at least "
               f"(load average {' '.join(n['loadavgBefore'].split()[:3])}).", "",
               "| way | samples | p50 (µs) | p99 (µs) |", "| --- | ---: | ---: | ---: |"]
        for key, label in (("setnsHopConnect", "setns hop: socket in the netns + connect (refused port)"),
                           ("nsenterForkExec", "`nsenter --net=... /bin/true` (fork+exec, no connect)")):
            r = n[key]
            md.append(f"| {label} | {r['samples']} | {r['p50Us']:.0f} | {r['p99Us']:.0f} |")
        md.append("")
    notes = os.path.join(results_dir, "supervise-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            md += [f.read(), ""]
    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        names = [r["runtime"] for r in runs]
        xs = range(len(runs))
        a1.bar([x - 0.2 for x in xs], [r["jitterP50Ms"] for r in runs], 0.4, label="p50")
        a1.bar([x + 0.2 for x in xs], [r["jitterP99Ms"] for r in runs], 0.4, label="p99")
        a1.set_xticks(list(xs))
        a1.set_xticklabels(names)
        a1.set_ylabel("probe start jitter (ms)")
        a1.legend()
        a2.bar([x - 0.2 for x in xs], [r["jvmCpuPercent"] for r in runs], 0.4, label="JVM")
        a2.bar([x + 0.2 for x in xs], [r["helperCpuPercent"] + r["helperChildrenCpuPercent"]
                                       + r["reapedChildrenCpuPercent"] for r in runs], 0.4,
               label="helper / CLIs + children")
        a2.set_xticks(list(xs))
        a2.set_xticklabels(names)
        a2.set_ylabel("CPU (% of one core)")
        a2.legend()
        fig.suptitle(f"{runs[0]['containers']} containers, exec probe every second")
        return fig

    md += [chart(results_dir, "supervise.png", "supervision load: jitter and CPU", draw), ""]
    return md


def concurrency_rates(path):
    """ConcurrencyBenchmark results: (runtime, callers, running containers) -> (successful lifecycles/s, failures/s)."""
    rates = {}
    for e in load(path):
        sec = e["secondaryMetrics"]
        rates[(e["params"]["runtime"], e.get("threads", 1), int(e["params"].get("resident", 0)))] = (
            sec["lifecycles"]["score"], sec.get("failures", {}).get("score", 0.0))
    return rates


def callers_label(t):
    return f"{t} caller{'s' if t > 1 else ''}"


def concurrency_section(results_dir):
    """ConcurrencyBenchmark: successful lifecycles/s per runtime and caller count (JMH -t), plus a chart."""
    path = os.path.join(results_dir, "concurrency.json")
    if not os.path.exists(path):
        return []
    rows = {}
    for (rt, threads, resident), v in concurrency_rates(path).items():
        if resident == 0:
            rows.setdefault(rt, {})[threads] = v
    callers = sorted({t for r in rows.values() for t in r})
    md = ["## Concurrency (ConcurrencyBenchmark: successful lifecycles/s with N independent callers on one runtime "
          "instance, each running create, start, kill, delete back to back)", "",
          "| runtime | " + " | ".join(callers_label(t) for t in callers)
          + f" | {callers[-1]} vs 1 | failures/s |",
          "| --- | " + " | ".join("---:" for _ in callers) + " | ---: | ---: |"]
    for rt in [r for r in RUNTIMES if r in rows] + [r for r in rows if r not in RUNTIMES]:
        r = rows[rt]
        cells = [f"{r[t][0]:.1f}" if t in r else "" for t in callers]
        ratio = f"{r[callers[-1]][0] / r[1][0]:.2f}x" if 1 in r and callers[-1] in r and r[1][0] else ""
        md.append(f"| {rt} | " + " | ".join(cells) + f" | {ratio} | {max(v[1] for v in r.values()):.1f} |")
    md.append("")
    def draw(plt):
        fig, ax = plt.subplots(figsize=(6, 4))
        for rt, r in rows.items():
            ts = sorted(r)
            ax.plot(ts, [r[t][0] for t in ts], marker="o", label=rt)
        ax.set_xscale("log", base=2)
        ax.set_xticks(callers)
        ax.set_xticklabels([str(t) for t in callers])
        ax.set_xlabel("callers")
        ax.set_ylabel("lifecycles/s")
        ax.legend()
        return fig

    return md + [chart(results_dir, "concurrency.png", "lifecycles/s per caller count", draw), ""]


def resident_section(results_dir):
    """ConcurrencyBenchmark beside running containers against none, from the same runs: lifecycles/s per caller count."""
    path = os.path.join(results_dir, "concurrency-resident.json")
    if not os.path.exists(path):
        return []
    rates = {k: lifecycles for k, (lifecycles, _) in concurrency_rates(path).items()}
    many = max(r for (_, _, r) in rates)
    callers = sorted({t for (_, t, _) in rates})
    md = [f"## Concurrency beside {many} running containers (ConcurrencyBenchmark, `resident=0,{many}`: "
          "lifecycles/s while the node's other containers keep running, against none, in the same runs)", "",
          "| runtime | " + " | ".join(f"{callers_label(t)}: none / {many}" for t in callers) + " |",
          "| --- | " + " | ".join("---:" for _ in callers) + " |"]
    for rt in [r for r in RUNTIMES if any(k[0] == r for k in rates)]:
        cells = []
        for t in callers:
            a, b = rates.get((rt, t, 0)), rates.get((rt, t, many))
            cells.append(f"{a:.1f} / {b:.1f} ({(b / a - 1) * 100:+.0f} %)" if a and b else "")
        md.append(f"| {rt} | " + " | ".join(cells) + " |")
    return md + [""]


def cgroupv2_section(path):
    """Ratios of the lifecycle p50 on a pure cgroup v2 kernel (scripts/bench-cgroupv2.sh, under QEMU TCG)."""
    if not os.path.exists(path):
        return []
    p50 = {}
    samples = {}
    host = {}
    for e in load(path):
        rt = e.get("params", {}).get("runtime")
        p50[rt] = e["primaryMetric"]["scorePercentiles"]["50.0"]
        hist = e["primaryMetric"].get("rawDataHistogram") or []
        samples[rt] = sum(c for fork in hist for it in fork for (_, c) in it)
        host = e.get("yffmHost", host)
    base = p50.get("ffm")
    out = ["## Lifecycle on cgroup v2 (ratios only)", "",
           f"`scripts/bench-cgroupv2.sh`: `LifecycleBenchmark.lifecycle` (create + start + kill + delete) in the QEMU "
           f"guest of the cgroup v2 test stage (kernel {host.get('kernel', '?')}, {host.get('cgroups', 'v2')}, "
           f"{host.get('accel', 'QEMU')}), one fork, 1 × 20 s warmup, 2 × 30 s measurement. Software emulation "
           "makes every absolute time meaningless (fork/exec is 20-100x slower than native), so only the ratio of "
           "each runtime's p50 to FFM's is given. Emulation slows fork/exec (what every CLI call is) more than "
           "in-process work, which likely inflates the CLI ratios compared with a native v2 host; the run also "
           "shared the machine with other work.", "",
           "| runtime | lifecycle p50 / ffm | samples |", "| --- | ---: | ---: |"]
    for rt in ["ffm", "crun", "runc"]:
        if rt in p50 and base:
            out.append(f"| {rt} | {p50[rt] / base:.2f} | {samples.get(rt, 0)} |")
    return out + [""]


def main():
    results_dir, out_md = sys.argv[1], sys.argv[2]
    data = load(os.path.join(results_dir, "lifecycle.json"))
    rows = {}  # (op, runtime) -> (p50, p99, alloc)
    floor = None
    for e in data:
        op = e["benchmark"].rsplit(".", 1)[1]
        pct = e["primaryMetric"].get("scorePercentiles", {})
        p50, p99 = pct.get("50.0"), pct.get("99.0")
        sec = e.get("secondaryMetrics", {})
        alloc = (sec.get("gc.alloc.rate.norm") or sec.get("·gc.alloc.rate.norm") or {}).get("score")
        if op == "floor":
            floor = (p50, p99, alloc)
            continue
        rows[(op, e.get("params", {}).get("runtime"))] = (p50, p99, alloc)

    lines = []
    lines.append("| operation | runtime | p50 (ms) | p99 (ms) | p50 / ffm | alloc (B/op) |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: |")
    for op in OPS:
        base = rows.get((op, "ffm"))
        for rt in RUNTIMES:
            r = rows.get((op, rt))
            if not r:
                continue
            ratio = f"{r[0] / base[0]:.2f}" if base and base[0] else "n/a"
            alloc = f"{r[2]:.0f}" if r[2] is not None else "n/a"
            lines.append(f"| {op} | {rt} | {r[0]:.3f} | {r[1]:.3f} | {ratio} | {alloc} |")
    if floor:
        lines.append(f"| floor (unshare + /bin/true) | kernel | {floor[0]:.3f} | {floor[1]:.3f} | | "
                     f"{floor[2]:.0f} |" if floor[2] is not None else
                     f"| floor (unshare + /bin/true) | kernel | {floor[0]:.3f} | {floor[1]:.3f} | | n/a |")

    targets = []
    def p50(op, rt):
        r = rows.get((op, rt))
        return r[0] if r else None
    def target(name, num, den, limit):
        if num is None or den is None:
            targets.append(f"| {name} | n/a | ≤ {limit} | not measured |")
            return
        ratio = num / den
        ok = "met" if ratio <= limit else "**missed**"
        targets.append(f"| {name} | {ratio:.2f} | ≤ {limit} | {ok} |")
    target("FFM lifecycle / youki CLI lifecycle", p50("lifecycle", "ffm"), p50("lifecycle", "youki"), 0.5)
    target("FFM lifecycle / crun CLI lifecycle", p50("lifecycle", "ffm"), p50("lifecycle", "crun"), 1.0)
    target("FFM create / floor", p50("create", "ffm"), floor[0] if floor else None, 5.0)

    def draw(plt):
        fig, ax = plt.subplots(figsize=(10, 5))
        width = 0.2
        for i, rt in enumerate(RUNTIMES):
            xs = [j + (i - 1.5) * width for j in range(len(OPS))]
            ys = [p50(op, rt) or 0 for op in OPS]
            ax.bar(xs, ys, width, label=rt)
        if floor:
            ax.axhline(floor[0], color="black", linestyle="--", linewidth=1, label="kernel floor (p50)")
        ax.set_xticks(range(len(OPS)))
        ax.set_xticklabels(OPS)
        ax.set_ylabel("p50 latency (ms, log scale)")
        ax.set_yscale("log")
        ax.set_title("youki-ffm: per-operation p50 latency by runtime (JMH SampleTime)")
        ax.legend()
        return fig

    lifecycle_chart = chart(results_dir, "lifecycle.png", "p50 latency per operation and runtime", draw)

    md = ["# Benchmarks", "",
          "Generated by `benchmarks/report.py` from `benchmarks/results/*.json`; rerun everything with "
          "`./scripts/bench.sh` (see README). Numbers are from one run on the machine below; on 2 shared cores "
          "expect run-to-run noise of ±10-20%.", ""]
    machine_path = os.path.join(results_dir, "machine.json")
    if os.path.exists(machine_path):
        m = load(machine_path)
        md.append("## Machine")
        md.append("")
        for k, v in m.items():
            md.append(f"- {k}: {v}")
        md.append("")
    md += ["## Latency (JMH SampleTime, one fork, 2 × 3 s warmup, 3 × 6 s measurement)", "", *lines, "", lifecycle_chart, "",
           "## Targets", "", "| target | ratio | limit | result |", "| --- | ---: | ---: | --- |", *targets, ""]
    md += cgroupv2_section(os.path.join(results_dir, "lifecycle-cgroupv2.json"))
    md += concurrency_section(results_dir)
    md += resident_section(results_dir)
    for fname, title in EXTRA:
        path = os.path.join(results_dir, fname)
        if os.path.exists(path):
            md += [f"## {title}", "", *jmh_table(path), ""]
    md += network_interleaved_section(os.path.join(results_dir, "network-interleaved.json"))
    cli_path = os.path.join(results_dir, "cli-rss.json")
    if os.path.exists(cli_path):
        c = load(cli_path)
        md += ["## Peak RSS of one CLI invocation (GNU time %M: max RSS of that process, KiB)", "", "| runtime | --version | list | create | delete |",
               "| --- | ---: | ---: | ---: | ---: |"]
        for rt, r in c["runtimes"].items():
            md.append(f"| {rt} | {r['version']['maxrss_kb']} KiB | {r['list']['maxrss_kb']} KiB | "
                      f"{r['create']['maxrss_kb']} KiB | {r['delete']['maxrss_kb']} KiB |")
        md.append("")
    soak_path = os.path.join(results_dir, "rss-soak.json")
    if os.path.exists(soak_path):
        s = load(soak_path)
        samples = s["samples"]
        md += [f"## JVM RSS over {s['cycles']} FFM lifecycles", "",
               "| cycle | JVM RSS (KiB) | helper RSS (KiB) | JVM fds | heap used (KiB) |",
               "| ---: | ---: | ---: | ---: | ---: |"]
        for x in samples:
            md.append(f"| {x['cycle']} | {x['jvmRssKb']} | {x['helperRssKb']} | {x['jvmFds']} | {x['heapUsedKb']} |")
        md.append("")
    md += supervise_section(results_dir)
    notes_path = os.path.join(results_dir, "notes.md")
    if os.path.exists(notes_path):
        with open(notes_path) as f:
            md += [f.read(), ""]
    design_path = os.path.join(results_dir, "design.md")
    if os.path.exists(design_path):
        with open(design_path) as f:
            md += [f.read(), ""]
    with open(out_md, "w") as f:
        f.write("\n".join(md))
    print("wrote", out_md)


if __name__ == "__main__":
    main()
