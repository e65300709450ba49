"""`procsplat` command line: `procsplat <command> [flags]`.

Every command is a function taking one dataclass config; tyro derives its flags from the
dataclass (`procsplat <command> --help`).
"""
from __future__ import annotations

import sys

import tyro

from procsplat.bench_fit import BenchFitConfig
from procsplat.export import ExportConfig
from procsplat.fit_scene import FitConfig
from procsplat.synth import SynthConfig
from procsplat.train import TrainConfig
from viewer.config import ViewConfig


def synth(cfg: SynthConfig) -> int:
    from procsplat.synth import generate

    path = generate(cfg)
    print(f"wrote {path}")
    return 0


def train(cfg: TrainConfig) -> int:
    from procsplat.train import run_train

    run_train(cfg)
    return 0


def export(cfg: ExportConfig) -> int:
    from procsplat.export import run_export

    run = run_export(cfg)
    print(f"rewrote {run}/splats.ply, scene.json, model.pt and meshes/")
    return 0


def view(cfg: ViewConfig) -> int:
    from viewer.server import run_view

    return run_view(cfg)


def fit(cfg: FitConfig) -> int:
    from procsplat.fit_scene import run_fit

    run_fit(cfg)
    return 0


def bench_fit(cfg: BenchFitConfig) -> int:
    from procsplat.bench_fit import run_bench_fit

    return run_bench_fit(cfg)


COMMANDS = {
    "train": (train, TrainConfig, "scan -> procedural objects + Gaussian splats (no --scene: the demo)"),
    "fit": (fit, FitConfig, "fit a shape program to every object of a scan (memetic GA)"),
    "bench-fit": (bench_fit, BenchFitConfig, "fitting accuracy of each method on generated synthetic scenes"),
    "export": (export, ExportConfig, "regenerate splats.ply etc. of a run, optionally with edited parameters"),
    "synth": (synth, SynthConfig, "generate a synthetic ScanNet-layout scene with ground truth"),
    "view": (view, ViewConfig, "serve a run in the browser (viser): inspect it, edit its programs live"),
}


def usage() -> str:
    lines = ["usage: procsplat <command> [--help] [flags]", "", "commands:"]
    lines += [f"  {name:<10} {doc}" for name, (_, _, doc) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"procsplat: unknown command '{name}'\n{usage()}", file=sys.stderr)
        return 2
    fn, cls, doc = COMMANDS[name]
    cfg = tyro.cli(cls, args=rest, prog=f"procsplat {name}", description=doc)
    try:
        return fn(cfg)
    except (ValueError, FileExistsError, FileNotFoundError, OSError) as e:
        print(f"procsplat {name}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
