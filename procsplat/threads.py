"""Thread policy of every procsplat command (and of `import procsplat`).

The machines this project runs on have 2 cores and are shared: several torch processes (fits,
trainings, test runs of other people) often run at once. torch's defaults are made for a machine
of one's own: one intra-op thread per core, and GNU OpenMP (torch's CPU backend) keeps its worker
threads spinning after every parallel region (`GOMP_SPINCOUNT`: 300,000 spins) so that the next
region starts without a wake-up. With another busy process on the machine a spinning thread takes
a core the other process needs, and a parallel region waits for a worker that is not running:
two `procsplat fit` at once took 13.7x their solo time each, and a fit took 7x longer beside
other people's processes (1.4 cores busy) burning 120 s of CPU for 13 s of work.

The policy, measured with `scripts/bench_threads.py` (README, "Threads"):

- `OMP_WAIT_POLICY=PASSIVE`: waiting OpenMP threads sleep instead of spinning. libgomp reads it
  once, when torch loads it, so `set_env_defaults()` puts it in the environment before torch is
  imported: `procsplat/__init__.py` calls it first thing, so every `procsplat` command and every
  program that imports procsplat before torch gets it (`geonodes/__init__.py` sets the same
  default for the `geonodes` command). A value the user set is kept; in a process that imported
  torch before procsplat it has no effect (and only reaches child processes).
- torch intra-op threads: ONE per process unless `--threads N` (or, from Python,
  `apply_thread_policy(N)`) says otherwise; a user's `OMP_NUM_THREADS` / `MKL_NUM_THREADS` is
  respected (torch's count then stays what those chose). Measured on a quiet 2-core machine
  (`python scripts/bench_threads.py --policies procsplat t1 --rounds 3`, 2026-12-05, before this
  default changed): a chair fit with one thread took 0.87x the two-thread passive time alone
  (13.5 s vs 15.6 s), 0.94x two at once, 0.93x beside a busy process; the rasteriser's forward
  and backward (10k Gaussians, 320x240) took 0.200 s on one thread against 0.209 s on two, and
  0.24-0.27 s against 0.62-0.70 s once other processes started. The work is many small kernels:
  waking a second thread costs more than it saves, and a sleeping (passive) thread is slow to
  wake. Several processes (`procsplat batch`, two commands at once) then share the cores without
  oversubscribing them. Inter-op threads are left alone: procsplat never uses torch's inter-op
  pool (no threads of it are started).

Override: `--threads N` on every command; `OMP_WAIT_POLICY=ACTIVE` (or any value) in the
environment restores spinning.
"""
from __future__ import annotations

import os
import sys

# Environment defaults read by libraries when they load: set before torch is imported.
ENV_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}
# Environment variables by which a user chooses torch's thread count (torch reads them at start).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# torch intra-op threads per process when neither `--threads` nor those variables say otherwise.
DEFAULT_THREADS = 1

torch_loaded_first = None
"""Whether torch was already imported when `set_env_defaults` last ran (True: the wait policy
could not reach this process's OpenMP runtime). None: it has not run."""


def set_env_defaults(environ=None) -> dict:
    """Put `ENV_DEFAULTS` into `environ` (default `os.environ`) where it has no value yet; returns
    what was set. Call before torch is imported: OpenMP reads its settings once, at load."""
    global torch_loaded_first
    environ = os.environ if environ is None else environ
    if environ is os.environ:
        torch_loaded_first = "torch" in sys.modules
    added = {}
    for key, value in ENV_DEFAULTS.items():
        if key not in environ:
            environ[key] = added[key] = value
    return added


def apply_thread_policy(threads: int = 0) -> int:
    """Set torch's intra-op threads: `threads` when > 0; 0: the policy (one thread, unless the
    user's OMP_NUM_THREADS / MKL_NUM_THREADS chose torch's count). Returns the count in effect."""
    import torch

    from procsplat.errors import ProcsplatError

    if threads < 0:
        raise ProcsplatError(f"--threads {threads}: must be 0 (the default policy) or a positive count")
    if threads == 0 and not any(os.environ.get(v) for v in THREAD_VARIABLES):
        threads = DEFAULT_THREADS
    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
