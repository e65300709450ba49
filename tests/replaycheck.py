"""pytest plugin: every small evaluation of a test session is also replayed and compared.

    OMP_NUM_THREADS=1 python -m pytest -p replaycheck tests/test_nodes.py ...

(run from the repository root, with `tests` on the path as pytest puts it). Each
Program.evaluate whose batch is small enough to replay (Program.replay_max_batch) runs the full
evaluator, then three more evaluations through the replays (the first fills caches, the second
records, the third replays); any of them differing from the full result, bit for bit, fails the
test that evaluated. Useful after adding node types: replays must cover any node function.
"""
import torch

import geonodes.program as _program

_STATS = {"checked": 0, "replayed": 0}
_evaluate = _program.Program.evaluate


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    return t.view({torch.float64: torch.int64, torch.float32: torch.int32}.get(t.dtype, torch.int16)) \
        if t.is_floating_point() else t


def _same(a, b) -> bool:
    """Bit for bit (NaNs and infinities included)."""
    return len(a) == len(b) and all(
        torch.equal(x.index, y.index) and x.vertices.dtype == y.vertices.dtype
        and torch.equal(_bits(x.vertices), _bits(y.vertices)) and x.topology is y.topology
        for x, y in zip(a, b))


def _checked_evaluate(self, values=None, batch=None, dtype=torch.float32, device=None, check_limits=True):
    limit, self.replay_max_batch = self.replay_max_batch, 0
    try:
        full = _evaluate(self, values, batch, dtype, device, check_limits)
    finally:
        self.replay_max_batch = limit
    if sum(len(g.index) for g in full) <= limit:
        _STATS["checked"] += 1
        before = self._replays.replayed
        for _ in range(3):
            again = _evaluate(self, values, batch, dtype, device, check_limits)
            assert _same(again, full), f"program '{self.name}': a replayed evaluation differs from the full one"
        _STATS["replayed"] += self._replays.replayed - before
    return full


def pytest_configure(config):
    _program.Program.evaluate = _checked_evaluate


def pytest_unconfigure(config):
    _program.Program.evaluate = _evaluate


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"replaycheck: {_STATS['checked']} small evaluations checked against "
                                f"{_STATS['replayed']} replays")
