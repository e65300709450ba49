"""procsplat: indoor scans as editable procedural objects wearing Gaussian splats.

The package follows the data flow, each stage importing only the ones before it:

    geometry.py, errors.py, progress.py   helpers every stage shares
    data/    scan -> Scene: readers (ScanNet raw/exported, .sens, 7-Scenes), up estimate, boxes, synthetic scenes, categories
    fit/     Scene -> ObjectSpec per object: targets, losses, the memetic GA, benchmarks
    splat/   ObjectSpecs + frames -> SceneModel: anchored + background Gaussians, rasteriser, .ply
    train/   TrainConfig -> Trainer: joint optimisation, evaluation
    run/     the run directory: checkpoints, scene.json, edits, exports
    view/    the viser viewer (`procsplat view`, `procsplat train --view`)
    cli.py   the `procsplat` command
    threads.py  the thread policy (environment defaults set here, before torch loads; `--threads`)

Public entry points (the CLI is built on these):
"""
# First, before anything imports torch: the thread policy's environment defaults (OpenMP reads
# them once, when torch loads it; a value the user set is kept). See procsplat/threads.py.
from procsplat.threads import set_env_defaults as _set_env_defaults

_set_env_defaults()

from procsplat.data.config import SceneConfig, open_scene
from procsplat.errors import ProcsplatError
from procsplat.fit.scene import fit_scene
from procsplat.fit.search import GAConfig
from procsplat.fit.spec import ObjectSpec
from procsplat.run.rundir import apply_edit, load_run, save_run
from procsplat.train.config import TrainConfig
from procsplat.train.trainer import Trainer, run_train

__all__ = ["SceneConfig", "open_scene", "ProcsplatError", "fit_scene", "GAConfig", "ObjectSpec", "apply_edit",
           "load_run", "save_run", "TrainConfig", "Trainer", "run_train"]
