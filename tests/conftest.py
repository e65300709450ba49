"""Shared fixtures."""
import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`procsplat train` with its defaults (the built-in demo), run once per test session."""
    from procsplat.cli import main

    out = tmp_path_factory.mktemp("demo")
    assert main(["train", "--out", str(out)]) == 0
    return out / "synth2024_00"
