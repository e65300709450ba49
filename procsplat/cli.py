"""`procsplat` command line: `procsplat <command> [flags]`, built from the commands' config
dataclasses by tyro (`procsplat <command> --help` lists every flag).

Every command takes `--threads N`: torch threads, applied before the command starts (0, the
default: the thread policy of procsplat/threads.py: one torch thread per process unless
OMP_NUM_THREADS says otherwise, with the environment defaults `import procsplat` sets before torch
loads; `batch`: the threads of each task, default 1).

Errors procsplat and geonodes raise for bad input (`ProcsplatError`, `GeonodesError`) end the
command with one line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import sys
import warnings
import tyro

from geonodes.errors import GeonodesError
from procsplat.batch import BatchConfig
from procsplat.data.synth import SynthConfig
from procsplat.errors import ProcsplatError
from procsplat.fit.bench_scenes import BenchFitConfig
from procsplat.fit.scene import FitConfig
from procsplat.run.export import ExportConfig
from procsplat.threads import apply_thread_policy
from procsplat.train.config import TrainConfig
from procsplat.view.config import ViewConfig


def synth(cfg: SynthConfig) -> int:
    from procsplat.data.synth import generate

    print(f"wrote {generate(cfg)}")
    return 0


def train(cfg: TrainConfig) -> int:
    from procsplat.train.trainer import run_train

    if not cfg.view:
        run_train(cfg)
        return 0
    from procsplat.view.training import TrainingView

    view = TrainingView.from_train_config(cfg)
    try:
        run = run_train(cfg, callbacks=[view])
    except BaseException:
        view.close()
        raise
    view.finish(run).wait()
    return 0


def export(cfg: ExportConfig) -> int:
    from procsplat.run.export import run_export

    run = run_export(cfg)
    print(f"{'rewrote' if cfg.out is None else 'wrote'} {run}/splats.ply, scene.json, model.pt and meshes/")
    return 0


def view(cfg: ViewConfig) -> int:
    if cfg.run is None:  # a scan: place boxes, fit programs into them
        if cfg.data.scene is None:
            raise ProcsplatError("give a run directory (procsplat view RUN_DIR) or a scan (procsplat view --scene "
                                 "PATH) to place boxes on")
        from procsplat.view.scan import run_scan_view

        return run_scan_view(cfg)
    if cfg.data.scene is not None or cfg.data.objects_from is not None:
        raise ProcsplatError(f"{cfg.run}: --scene/--objects-from open a scan to place boxes on; give them "
                             "without a run directory")
    from procsplat.view.server import run_view

    return run_view(cfg)


def fit(cfg: FitConfig) -> int:
    from procsplat.fit.scene import run_fit

    run_fit(cfg)
    return 0


def batch(cfg: BatchConfig) -> int:
    from procsplat.batch import run_batch

    rows = run_batch(cfg)
    return 1 if any(r["status"] == "failed" for r in rows) else 0  # the others finished all the same


def bench_fit(cfg: BenchFitConfig) -> int:
    from procsplat.fit.bench_scenes import run_bench_fit

    return run_bench_fit(cfg)


# command -> (function, its config dataclass; the dataclass's docstring is the command's help)
COMMANDS = {"train": (train, TrainConfig), "fit": (fit, FitConfig), "batch": (batch, BatchConfig),
            "bench-fit": (bench_fit, BenchFitConfig),
            "export": (export, ExportConfig), "synth": (synth, SynthConfig), "view": (view, ViewConfig)}


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main(argv=None) -> int:
    warnings.formatwarning = _one_line_warning  # a warning is one line for a user, not a source excerpt
    args = list(sys.argv[1:] if argv is None else argv)
    cfg = tyro.extras.subcommand_cli_from_dict(
        {name: cls for name, (_, cls) in COMMANDS.items()}, prog="procsplat", args=args,
        description="Indoor scans as editable procedural objects wearing Gaussian splats.")
    name = next(n for n, (_, cls) in COMMANDS.items() if type(cfg) is cls)
    try:
        # the thread policy's environment is already set (procsplat/__init__.py, before torch loaded)
        apply_thread_policy(cfg.threads if hasattr(cfg, "threads") else cfg.data.threads)
        return COMMANDS[name][0](cfg)
    except (ProcsplatError, GeonodesError) as e:
        print(f"procsplat {name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: a message, not a traceback; what finished is on disk already
        kept = {"fit": "; the objects fitted so far are saved: the same command with --resume fits the rest",
                "train": "; fits and checkpoints written so far are kept: the same command with --resume goes on"}
        print(f"procsplat {name}: interrupted{kept.get(name, '')}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
