"""Shared fixtures."""
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "data" / "blender"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`procsplat train` with its defaults (the built-in demo), run once per test session."""
    from procsplat.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["train", "--out", str(out)]) == 0
    return out / "synth2024_00"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A small but real run: synthetic scene, ground-truth programs, a few joint training steps, exports."""
    from procsplat.data.config import SceneConfig
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.run.export import export_model
    from procsplat.splat.init import InitConfig
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    root = tmp_path_factory.mktemp("viewer")
    scene = generate(SynthConfig(out=root / "scenes", seed=3, num_frames=8, width=160, height=120, num_objects=2,
                                 categories=(str(PROGRAMS / "chair.json"), str(PROGRAMS / "table.json"))))
    t = Trainer(TrainConfig(data=SceneConfig(scene=str(scene), width=96, max_frames=8), out=root / "runs", fit="gt",
                            steps=2, checkpoint_every=1000,
                            init=InitConfig(max_gaussians_per_object=600, max_background=2000)),
                log=lambda *_: None)
    t.train(progress=False)
    export_model(t.run, t.model, t.scene.name, t.scene_path)
    return t.run
