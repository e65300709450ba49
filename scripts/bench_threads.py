"""Thread policies on a shared machine: one fit alone, two identical fits at once, one fit beside a busy loop.

    python scripts/bench_threads.py                          # the old default vs procsplat's policy
    python scripts/bench_threads.py --policies default procsplat t1 --rounds 3
    python scripts/bench_threads.py --policies t1 passive t1-passive --program table --generations 0

Each fit is `genetic_search` (GA preset `fast`, one generation by default, then its sweep and
refinement: ~13 s of CPU) on one seeded synthetic object (`procsplat.fit.synthetic`), in a
subprocess, so that the policy's environment reaches libgomp before torch loads it. The workers
import, build their target, say ready and are started together; only the search is timed. A
policy is an environment plus torch's intra-op and inter-op thread counts (POLICIES): `default` is
torch's own, the behaviour before procsplat had a policy (one thread per core, libgomp spinning
300,000 times after each parallel region); `procsplat` is what `procsplat <command>` does
(`import procsplat` sets the environment defaults before torch loads, then `apply_thread_policy(0)`).
Each trial prints the spin count libgomp really took (OMP_DISPLAY_ENV=VERBOSE).

Cases: solo (one fit), pair (two identical fits at once: a fair share of 2 cores is 1x-2x the solo
time), busy (one fit beside a single-threaded pure-Python busy loop). Rounds interleave the
policies (A B, then B A) so that other users' load hits them alike. Every trial prints its times,
CPU seconds (all threads, and the main thread's), the load average and the CPU other processes got
during it (cores: /proc/stat minus ours). Then per policy the median and range of each case, the
ratios pair/solo and busy/solo, the solo fits' main-thread CPU (load-insensitive; where no thread
spins, a lower bound of the idle-machine time), and each policy's times as a ratio to the first
policy's (the named peer) in the same run. A fit still running `--cap` seconds after its start is
stopped and counted as the cap (shown as >=, a lower bound).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import tempfile
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> (environment, torch intra-op threads (None: torch's default), inter-op threads (None: default))
POLICIES = {
    "default": ({}, None, None),
    "t1": ({}, 1, None),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, None, None),  # libgomp: spin count 0 (GOMP_SPINCOUNT=0 alike)
    "t1-passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, 1, None),
    "spin10k": ({"GOMP_SPINCOUNT": "10000"}, None, None),  # a short spin, then sleep
    "spin30k": ({"GOMP_SPINCOUNT": "30000"}, None, None),
    "spin3k": ({"GOMP_SPINCOUNT": "3000"}, None, None),
    "spin1k": ({"GOMP_SPINCOUNT": "1000"}, None, None),
    "t1-inter1": ({}, 1, 1),
    "procsplat": None,  # procsplat.threads' own defaults
}
# Variables a policy controls; stripped from the workers' environment so that the caller's own
# settings (tests run with OMP_NUM_THREADS=1) do not leak into a policy.
CONTROLLED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_PROC_BIND", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "KMP_BLOCKTIME", "PROCSPLAT_THREADS")
BUSY_LOOP = "while True:\n    pass\n"
SPIN = re.compile(r"GOMP_SPINCOUNT = '(\d+)'")  # what libgomp took (OMP_DISPLAY_ENV=VERBOSE, on stderr)


# ---------------------------------------------------------------------------------------------- worker

def _main_thread_cpu() -> float:
    """CPU seconds of this process's main thread (/proc/self/task/<pid>/stat). With waiting threads
    asleep (not spinning) the main thread is busy for the whole fit on an idle machine, so its CPU
    time estimates the fit's idle-machine wall time whatever the load while measuring."""
    path = Path(f"/proc/self/task/{os.getpid()}/stat")
    if not path.exists():
        return float("nan")
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def worker(args) -> int:
    """One fit under one policy: import, build the target, say ready, wait for go, fit, report."""
    if args.worker == "procsplat":  # as `procsplat <command>` does: `import procsplat` first
        from procsplat.threads import apply_thread_policy

        env = {k: os.environ[k] for k in CONTROLLED if k in os.environ}  # what libgomp sees
        import torch

        apply_thread_policy(0)
    else:  # torch before procsplat: procsplat's environment defaults come too late to matter
        _, threads, interop = POLICIES[args.worker]
        env = {k: os.environ[k] for k in CONTROLLED if k in os.environ}
        import torch

        if interop is not None:
            torch.set_num_interop_threads(interop)
        if threads is not None:
            torch.set_num_threads(threads)
    import math

    import numpy as np
    from procsplat.fit.bench import resolve_program
    from procsplat.fit.search import genetic_search, preset
    from procsplat.fit.synthetic import CameraRig, synthetic_object

    program = resolve_program(args.program)
    rng = np.random.default_rng(args.seed)
    params = program.sample(1, seed=args.seed)[0]
    yaw = float(rng.uniform(-math.pi, math.pi))
    xy = tuple(rng.uniform(-1.0, 1.0, 2))
    target, _ = synthetic_object(program, params, yaw, xy, rig=CameraRig(num_views=4), seed=args.seed)
    overrides = {"generations": args.generations} if args.generations > 0 else {}
    cfg = preset(args.preset, seed=args.seed, **overrides)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its first use imports torch._dynamo (~3 s): not timed
    print("ready", flush=True)
    sys.stdin.readline()
    r0, m0 = resource.getrusage(resource.RUSAGE_SELF), _main_thread_cpu()
    t0 = time.perf_counter()
    result = genetic_search(program, target, cfg)
    wall = time.perf_counter() - t0
    r1, m1 = resource.getrusage(resource.RUSAGE_SELF), _main_thread_cpu()
    info = torch.__config__.parallel_info()
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    os_threads = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")), -1)
    print(json.dumps({"seconds": wall, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                      "main_cpu": m1 - m0,
                      "loss": result.loss, "threads": torch.get_num_threads(),
                      "interop": torch.get_num_interop_threads(), "os_threads": os_threads,
                      "omp_max_threads": next((line.split(":")[1].strip() for line in info.splitlines()
                                               if "omp_get_max_threads" in line), "?"),
                      "env": env}), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------- parent

def _cpu_busy_seconds() -> float:
    """Seconds of CPU time all processes used since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(policy: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if POLICIES[policy] is not None:
        env.update(POLICIES[policy][0])
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # libgomp prints the settings it took when torch loads it
    return env


def trial(policy: str, case: str, args) -> dict:
    """One measurement: `case` is solo, pair or busy. Returns the fits' reports and the load."""
    n = 2 if case == "pair" else 1
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", policy, "--program", args.program,
           "--preset", args.preset, "--seed", str(args.seed), "--generations", str(args.generations)]
    errs = [tempfile.TemporaryFile("w+") for _ in range(n)]
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                              env=_env(policy), cwd=REPO) for err in errs]
    for p in procs:
        line = p.stdout.readline()
        if line.strip() != "ready":
            p.wait()
            raise SystemExit(f"worker {policy} failed before its fit (exit {p.returncode}): {line}"
                             f"{_read(errs[procs.index(p)])}")
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if case == "busy" else None
    load = os.getloadavg()[0]
    cpu0, ours0, t0 = _cpu_busy_seconds(), _children_cpu(), time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=max(1.0, t0 + args.cap - time.perf_counter()))
        except subprocess.TimeoutExpired:  # past the cap: its time is at least the cap
            p.kill()
            p.communicate()
            reports.append({"seconds": args.cap, "capped": True, "cpu": float("nan")})
            continue
        if p.returncode != 0:
            raise SystemExit(f"worker {policy} failed (exit {p.returncode}): {_read(errs[procs.index(p)])}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    for report, err in zip(reports, errs):
        spin = SPIN.search(_read(err))
        report["spincount"] = spin.group(1) if spin else "?"
    if busy is not None:
        busy.terminate()
        busy.wait()
    wall = time.perf_counter() - t0
    ours = _children_cpu() - ours0  # the workers and the busy loop, all reaped
    others = max(0.0, (_cpu_busy_seconds() - cpu0 - ours) / wall)
    return {"policy": policy, "case": case, "seconds": [r["seconds"] for r in reports], "reports": reports,
            "load": load, "others": others}


def _read(f) -> str:
    f.seek(0)
    text = f.read()
    f.close()
    return text


def _fmt_range(xs: list) -> str:
    return f"{statistics.median(xs):6.2f} s ({min(xs):.2f}-{max(xs):.2f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policies", nargs="+", default=["default", "procsplat"],
                    help=f"first is the peer; known: {', '.join(POLICIES)}")
    ap.add_argument("--cases", nargs="+", default=["solo", "pair", "busy"], help="solo pair busy")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--program", default="chair")
    ap.add_argument("--preset", default="fast", help="GA preset: fast, default, paper")
    ap.add_argument("--generations", type=int, default=1,
                    help="the preset's generations (0: the preset's own); the sweep and refinement follow")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--cap", type=float, default=300.0,
                    help="a fit still running this many seconds after the start is stopped and counted as the cap "
                         "(its time and ratios are then lower bounds, marked >=)")
    ap.add_argument("--json", type=Path, default=None, help="write every trial here")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    bad = [p for p in args.policies if p not in POLICIES]
    if bad:
        ap.error(f"unknown policies {bad}; known: {', '.join(POLICIES)}")

    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.program} fit, GA preset {args.preset}" + (f" with {args.generations} generation(s)" if
                                                             args.generations > 0 else "")
          + f", seed {args.seed}, {args.rounds} rounds", flush=True)
    trials = []
    for rnd in range(args.rounds):
        order = args.policies if rnd % 2 == 0 else args.policies[::-1]
        for case in args.cases:
            for policy in order:
                t = trial(policy, case, args)
                trials.append(t)
                r = next((x for x in t["reports"] if not x.get("capped")), None)
                info = (f"  torch threads {r['threads']} interop {r['interop']} os threads {r['os_threads']} "
                        f"omp {r['omp_max_threads']} spin {r['spincount']} env {r['env']}") if r else ""
                print(f"round {rnd + 1} {policy:10s} {case:5s} "
                      + " ".join(f"{'>=' if x.get('capped') else ''}{x['seconds']:.2f} s" for x in t["reports"])
                      + "  cpu " + " ".join(f"{x['cpu']:.1f}" for x in t["reports"]) + " s, main thread "
                      + " ".join(f"{x.get('main_cpu', float('nan')):.1f}" for x in t["reports"]) + " s" + info
                      + f"  load {t['load']:.2f}, others {t['others']:.2f} cores", flush=True)

    def times(policy, case):
        return [s for t in trials if t["policy"] == policy and t["case"] == case for s in t["seconds"]]

    capped = {(t["policy"], t["case"]) for t in trials if any(x.get("capped") for x in t["reports"])}

    def ge(policy, case):  # a capped time makes the median a lower bound
        return ">=" if (policy, case) in capped else ""

    peer = args.policies[0]
    print(f"\nmedian (range) of each fit's search time, ratios of medians (>=: some fit hit --cap, a lower "
          f"bound); peer: {peer}")
    for policy in args.policies:
        solo = statistics.median(times(policy, "solo")) if times(policy, "solo") else None
        line = [f"{policy:10s}"]
        for case in args.cases:
            xs = times(policy, case)
            line.append(f"{case} {ge(policy, case)}{_fmt_range(xs)}")
            if case != "solo" and solo:
                line.append(f"{case}/solo {ge(policy, case)}{statistics.median(xs) / solo:.2f}x "
                            f"(range {min(xs) / solo:.2f}-{max(xs) / solo:.2f})")
        print("  ".join(line))
    # The main thread's CPU time in the solo fits: insensitive to other users' load, and where no thread
    # spins (1 thread, or spin count 0) a lower bound of the fit's time on an idle machine.
    mains = {}
    for policy in args.policies:
        reps = [x for t in trials if t["policy"] == policy and t["case"] == "solo" for x in t["reports"]
                if not x.get("capped")]
        spins = any(x["threads"] > 1 and x["spincount"] != "0" for x in reps)
        if reps and not spins:
            mains[policy] = statistics.median(x["main_cpu"] for x in reps)
    if mains:
        print("solo main-thread CPU (idle-machine estimate, a lower bound; not shown where threads spin): " + "  ".join(
            f"{p} {m:.2f} s" for p, m in mains.items()))
    for policy in args.policies[1:]:
        print(f"{policy} / {peer}: " + "  ".join(
            f"{case} {'?' if ge(peer, case) and ge(policy, case) else '<=' if ge(peer, case) else ge(policy, case)}"
            f"{statistics.median(times(policy, case)) / statistics.median(times(peer, case)):.2f}x"
            for case in args.cases))
    print(f"others' load during the trials: {min(t['others'] for t in trials):.2f}-"
          f"{max(t['others'] for t in trials):.2f} cores; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(trials, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
