#!/usr/bin/env python3
"""Formats bench/compare.sh's raw results (a TSV file) as a markdown report.

Usage: report.py RESULTS.tsv   (the header facts come from environment variables
set by compare.sh: BENCH_SIZE, BENCH_IMG_BYTES, BENCH_SEED, BENCH_CMDLINE,
BENCH_MACHINE, BENCH_VERSIONS, BENCH_SECONDS, BENCH_RUNS, BENCH_TOOLS; BENCH_CHAIN: the
number of chain steps, 0 for none)

Each (step, tool) cell shows the median over the runs; with several runs the
wall time also shows min-max, and peak RSS is the largest of the runs.
"""
import csv
import os
import statistics
import sys
from collections import defaultdict

STEPS = [
    ("first", "first backup"),
    ("unchanged", "unchanged re-backup"),
    ("scattered", "scattered 1 % incr."),
    ("clustered", "clustered 1 % incr."),
    ("aged", "aged file system incr."),
    ("restore", "restore (first backup)"),
]
MIB = 1048576


def main():
    rows = defaultdict(list)
    with open(sys.argv[1], newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(r["step"], r["tool"])].append(r)
    env = os.environ
    tools = env["BENCH_TOOLS"].split(",")
    img = int(env["BENCH_IMG_BYTES"])
    runs = int(env.get("BENCH_RUNS", "1"))
    chain = int(env.get("BENCH_CHAIN", "0") or 0)
    steps = list(STEPS)
    if chain:
        steps = [STEPS[0]]
        steps += [(f"chain{k}", f"chain {k}: +1 % scattered incr.") for k in range(1, chain + 1)]
        steps.append(("chainrestore", f"restore (chain point {chain})"))

    def med(step, tool, field):
        v = [float(r[field]) for r in rows.get((step, tool), []) if r[field] != ""]
        return statistics.median(v) if v else None

    out = []
    p = out.append
    p(f"## rb_module_rustack vs restic vs borg ({env['BENCH_DATE']})")
    p("")
    p(f"Image: {env.get('BENCH_IMAGE_DESC', env['BENCH_SIZE'])} ({img} bytes).")
    p(f"rb_module_rustack compression: {env.get('BENCH_RB_COMPRESSION', 'default (zstd)')}.")
    p(f"Machine: {env['BENCH_MACHINE']}.")
    p(f"Backup: {env.get('BENCH_BACKUP_CACHE', 'image read into the page cache before every backup')}.")
    p(f"Restore: {env.get('BENCH_RESTORE_CACHE', 'warm page cache')}.")
    p(f"Versions: {env['BENCH_VERSIONS']}.")
    p(f"Command: `{env['BENCH_CMDLINE']}`; {runs} run(s) of every step, "
      f"{env['BENCH_SECONDS']} s in all.")
    p("")
    wall_head = "wall s" if runs == 1 else f"wall s, median of {runs} (min-max)"
    p(f"| step | tool | {wall_head} | restic/tool wall | CPU s (user+sys) | peak RSS MiB "
      "| added MiB | added % of image | repo MiB | repo MiB on disk | check |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for step, title in steps:
        for tool in tools:
            rs = rows.get((step, tool), [])
            if not rs:
                continue
            wall = med(step, tool, "wall")
            walls = [float(r["wall"]) for r in rs]
            wcell = f"{wall:.2f}"
            if runs > 1:
                wcell += f" ({min(walls):.2f}-{max(walls):.2f})"
            rw = med(step, "restic", "wall")
            ratio = f"{rw / max(wall, 0.01):.2f}x" if rw is not None else ""
            cpu = med(step, tool, "cpu")
            rss = max(float(r["rss_kib"]) for r in rs) / 1024
            added = pct = repo = alloc = ""
            if not step.endswith("restore"):
                a = med(step, tool, "added")
                added = f"{a / MIB:.1f}"
                pct = f"{100 * a / img:.1f} %"
                repo = f"{med(step, tool, 'repo') / MIB:.1f}"
                alloc = f"{med(step, tool, 'alloc') / MIB:.1f}"
            checks = []
            if step.endswith("restore"):
                checks.append(f"{med(step, tool, 'tool_wall'):.2f} s + {med(step, tool, 'sync_wall'):.2f} s fsync, "
                              f"restored file uses {med(step, tool, 'file_alloc') / MIB:.0f} MiB")
            for r in rs:
                if r["check"] and r["check"] not in checks:
                    checks.append(r["check"])
            p(f"| {title} | {tool} | {wcell} | {ratio} | {cpu:.2f} | {rss:.0f} | {added} | {pct} "
              f"| {repo} | {alloc} | {'; '.join(checks)} |")
    p("")
    p("wall: elapsed seconds (restore: until the restored image is fsynced). CPU: user+sys seconds of")
    p("the tool and its children. Peak RSS: the largest resident set of the tool or any child (GNU time")
    p("%M). added MiB: growth of the repository's apparent size (du --apparent-size: the sum of file")
    p("lengths) over the step; repo MiB: apparent size after the step; repo MiB on disk: allocated")
    p("blocks (du). Every tool reads the image from a warm page cache (cold with --cold-backup);")
    p("before every restore the page cache is dropped (echo 3 > /proc/sys/vm/drop_caches), unless")
    p("the header says otherwise.")

    if chain:
        p("")
        p(f"The chain of {chain} incrementals, per tool: stored bytes added per step (MiB, min / median /")
        p("max over the steps, median over the runs for each step), in all, and the wall time per step.")
        p("")
        p("| tool | added per step MiB (min / median / max) | median % of image per step | added over the chain MiB "
          "| wall s per step (median) | restore of the last point, wall s | restic/tool restore |")
        p("|---|---:|---:|---:|---:|---:|---:|")
        rr = med("chainrestore", "restic", "wall")
        for tool in tools:
            adds = [med(f"chain{k}", tool, "added") for k in range(1, chain + 1)]
            walls = [med(f"chain{k}", tool, "wall") for k in range(1, chain + 1)]
            if any(a is None for a in adds):
                continue
            rw = med("chainrestore", tool, "wall")
            md = statistics.median(adds)
            ratio = f"{rr / max(rw, 0.01):.2f}x" if rr is not None and rw is not None else ""
            p(f"| {tool} | {min(adds) / MIB:.1f} / {md / MIB:.1f} / {max(adds) / MIB:.1f} | {100 * md / img:.1f} % "
              f"| {sum(adds) / MIB:.1f} | {statistics.median(walls):.2f} | "
              f"{'' if rw is None else f'{rw:.2f}'} | {ratio} |")

    if "rustack" in tools and "restic" in tools:
        p("")
        p("Goals (issue 3) for rb_module_rustack:")
        for step, title in steps:
            if step not in ("first", "unchanged", "restore"):
                continue
            ours, theirs = med(step, "rustack", "wall"), med(step, "restic", "wall")
            if ours is None or theirs is None:
                continue
            r = theirs / max(ours, 0.01)
            p(f"- {title}: {r:.2f}x faster than restic (goal >= 3x): {'PASS' if r >= 3 else 'FAIL'}")
        a = med("scattered", "rustack", "added")
        if a is not None:
            pc = 100 * a / img
            p(f"- scattered 1 % incremental stores {pc:.1f} % of the image (goal <= 10 %): "
              f"{'PASS' if pc <= 10 else 'FAIL'}")
        ours, theirs = med("chainrestore", "rustack", "wall"), med("chainrestore", "restic", "wall")
        if ours is not None and theirs is not None:
            r = theirs / max(ours, 0.01)
            p(f"- restore of chain point {chain}: {r:.2f}x faster than restic (issue 17 goal >= 5x): "
              f"{'PASS' if r >= 5 else 'FAIL'}")
        peaks = [float(r["rss_kib"]) / 1024 for (s, t), rs in rows.items() if t == "rustack" for r in rs]
        if peaks:
            pk = max(peaks)
            p(f"- peak RSS {pk:.0f} MiB over all steps (goal <= 256 MiB): {'PASS' if pk <= 256 else 'FAIL'}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
