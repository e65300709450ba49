"""The thread policy (procsplat/threads.py): environment defaults before torch loads, never over a
user's value; `apply_thread_policy`; `--threads` on every command. No timings here (those are
scripts/bench_threads.py's). The environment checks run in subprocesses: OpenMP reads it once,
when torch loads it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import procsplat.cli as cli
from procsplat.errors import ProcsplatError
from procsplat.threads import ENV_DEFAULTS, apply_thread_policy, set_env_defaults

REPO = Path(__file__).resolve().parents[1]
POLICY_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_DISPLAY_ENV")


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """`python -c code` with none of the policy's variables set but those given, and libgomp asked to
    print the settings it took (OMP_DISPLAY_ENV=VERBOSE, on stderr)."""
    base = {k: v for k, v in os.environ.items() if k not in POLICY_VARIABLES}
    base.update(PYTHONPATH=str(REPO) + os.pathsep + base.get("PYTHONPATH", ""), OMP_DISPLAY_ENV="VERBOSE", **env)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def spin_count(stderr: str) -> str:
    """libgomp's spin count as it took it ('0': waiting threads sleep at once)."""
    lines = [line for line in stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    if not lines:
        pytest.skip("torch's OpenMP runtime is not GNU libgomp (no GOMP_SPINCOUNT in OMP_DISPLAY_ENV)")
    return lines[0].split("=")[1].strip().strip("'")


def test_import_sets_the_wait_policy_before_torch_loads():
    r = run_python("import procsplat, os, procsplat.threads as t; print(os.environ['OMP_WAIT_POLICY'], t.torch_loaded_first)")
    assert r.stdout.split() == ["PASSIVE", "False"]
    assert spin_count(r.stderr) == "0"  # libgomp took it


def test_a_users_wait_policy_is_kept():
    r = run_python("import procsplat, os; print(os.environ['OMP_WAIT_POLICY'])", OMP_WAIT_POLICY="ACTIVE")
    assert r.stdout.strip() == "ACTIVE"
    assert spin_count(r.stderr) != "0"
    r = run_python("import procsplat, os; print('OMP_WAIT_POLICY' in os.environ)", GOMP_SPINCOUNT="1000")
    assert r.stdout.strip() == "True" and spin_count(r.stderr) == "1000"  # the user's spin count wins


def test_torch_first_is_reported():
    r = run_python("import torch, procsplat.threads as t; print(t.torch_loaded_first)")
    assert r.stdout.strip() == "True"


def test_set_env_defaults_never_overrides():
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert set_env_defaults(env) == {} and env == {"OMP_WAIT_POLICY": "ACTIVE"}
    env = {}
    assert set_env_defaults(env) == ENV_DEFAULTS and env == ENV_DEFAULTS


def test_geonodes_sets_the_same_defaults_without_procsplat():
    r = run_python("import sys, os, geonodes.cli; print(os.environ['OMP_WAIT_POLICY'], "
                   "any(m.split('.')[0] == 'procsplat' for m in sys.modules))")
    assert r.stdout.split() == ["PASSIVE", "False"]
    assert spin_count(r.stderr) == "0"
    import geonodes

    assert geonodes._ENV_DEFAULTS == ENV_DEFAULTS


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_apply_thread_policy(restore_threads):
    assert apply_thread_policy(2) == 2 == torch.get_num_threads()
    assert apply_thread_policy(1) == 1 == torch.get_num_threads()
    assert apply_thread_policy(0) == 1  # 0: the policy, one thread (or the OMP_NUM_THREADS the user set)
    with pytest.raises(ProcsplatError, match="--threads -1"):
        apply_thread_policy(-1)


def test_policy_default_is_one_thread_unless_the_user_chose():
    code = "import procsplat, torch; from procsplat.threads import apply_thread_policy as a; " \
           "d = torch.get_num_threads(); print(d, a(0))"
    assert run_python(code).stdout.split()[1] == "1"
    assert run_python(code, OMP_NUM_THREADS="2").stdout.split() == ["2", "2"]  # the user's choice is kept
    assert run_python(code, MKL_NUM_THREADS="2").stdout.split()[1] == "2"


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_takes_threads(name, monkeypatch, restore_threads):
    """Parsed, applied before the command runs (the command itself is replaced by a probe)."""
    seen = {}

    def probe(cfg):
        seen["threads"] = torch.get_num_threads()
        return 0

    monkeypatch.setitem(cli.COMMANDS, name, (probe, cli.COMMANDS[name][1]))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # the user's choice would be kept
        monkeypatch.delenv(variable, raising=False)
    positional = {"export": ["some/run"], "view": ["some/run"], "batch": ["--out", "some/out"]}.get(name, [])
    torch.set_num_threads(1)
    assert cli.main([name, *positional, "--threads", "2"]) == 0
    assert seen["threads"] == 2
    assert cli.main([name, *positional]) == 0  # the default, 0: the policy's one thread (batch: per task)
    assert seen["threads"] == 1


def test_synth_with_threads_runs(tmp_path):
    """The whole console path on a tiny scene: `procsplat synth --threads 1`, policy in effect."""
    r = run_python("import sys; from procsplat.cli import main; sys.exit(main(sys.argv[1:]))".replace(
        "sys.argv[1:]", repr(["synth", "--threads", "1", "--out", str(tmp_path), "--seed", "1", "--num-frames", "2",
                              "--width", "64", "--height", "48", "--num-objects", "1"])))
    assert (tmp_path / "synth0001_00" / "gt.json").is_file()
    assert spin_count(r.stderr) == "0"


def test_negative_threads_is_one_line_exit_2(capsys):
    assert cli.main(["synth", "--threads", "-1", "--out", "/nonexistent/x"]) == 2
    assert capsys.readouterr().err.strip() == \
        "procsplat synth: error: --threads -1: must be 0 (the default policy) or a positive count"
