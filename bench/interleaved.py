#!/usr/bin/env python3
"""Times one runtime command for several runtimes interleaved: every round runs
each runtime once, in a new random order, so load that drifts on a shared
machine falls on all of them alike (hyperfine times one command's runs in a
row). Prints median, mean, quartiles and minimum per runtime.

Usage (as root, from inside the same private mount namespace bench/runtime.sh
uses on a hybrid-cgroup host):
  bench/interleaved.py --bundle DIR [--command run|create|start|delete] [--rounds N] NAME=PATH...

The bundle's process must exit by itself (runtime.sh's /bin/true bundle).
Each runtime gets its own --root under a temporary directory. Wall time is
taken around posix_spawn + waitpid, so it includes about 0.1 ms of this
script's own overhead, the same for every runtime.
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--bundle", required=True)
ap.add_argument("--command", default="run", choices=["run", "create", "start", "delete"])
ap.add_argument("--rounds", type=int, default=60)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("runtimes", nargs="+", metavar="NAME=PATH")
args = ap.parse_args()
runtimes = dict(r.split("=", 1) for r in args.runtimes)
bundle = os.path.abspath(args.bundle)
work = tempfile.mkdtemp(prefix="berth-interleaved.")
cid = "interleaved"
devnull = os.open("/dev/null", os.O_RDWR)


def spawn(argv, stdout=devnull):
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    return os.waitpid(pid, 0)[1]


def rt(name, *a):
    return [runtimes[name], "--root", os.path.join(work, name), *a]


def prepare(name):
    """Untimed: the state the command starts from."""
    spawn(rt(name, "delete", "-f", cid))
    if args.command in ("start", "delete"):
        spawn(rt(name, "create", "--bundle", bundle, cid))
    if args.command == "delete":
        spawn(rt(name, "start", cid))
        for _ in range(1000):
            r, w = os.pipe()
            spawn(rt(name, "state", cid), stdout=w)
            os.close(w)
            out = os.read(r, 1 << 16)
            os.close(r)
            if b'"stopped"' in out:
                break
            time.sleep(0.005)


def command(name):
    if args.command in ("run", "create"):
        return rt(name, args.command, "--bundle", bundle, cid)
    return rt(name, args.command, cid)


times = {n: [] for n in runtimes}
failed = {n: 0 for n in runtimes}
for i in range(args.warmup + args.rounds):
    order = list(runtimes)
    random.shuffle(order)
    for n in order:
        prepare(n)
        argv = command(n)
        t0 = time.perf_counter_ns()
        status = spawn(argv)
        t1 = time.perf_counter_ns()
        if status != 0:
            failed[n] += 1
        elif i >= args.warmup:
            times[n].append((t1 - t0) / 1e6)
for n in runtimes:
    spawn(rt(n, "delete", "-f", cid))
shutil.rmtree(work, ignore_errors=True)

load = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"`{args.command}`, {args.rounds} interleaved rounds (+{args.warmup} warm-up), load average {load}")
print("| runtime | median | mean | p25 | p75 | min | failed |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n, t in times.items():
    if len(t) < 2:
        print(f"| {n} | n/a | | | | | {failed[n]} |")
        continue
    q = statistics.quantiles(t, n=4)
    print(f"| {n} | {statistics.median(t):.2f} ms | {statistics.mean(t):.2f} | {q[0]:.2f} | {q[2]:.2f} | {min(t):.2f} | {failed[n]} |")
sys.exit(1 if any(failed.values()) else 0)
