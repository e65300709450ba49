"""What the curve nodes that change topology share: their work reaches the curves inside
instances (each instance's geometry in its own space, as Blender's modify_geometry_sets), and
a piece's rows are split by what each row gets (sample counts, triangulations) in all of them."""
from __future__ import annotations

import numpy as np
import torch

from ..geometry import GeomStruct, Instance, Rows


def scatter(values: torch.Tensor, index: torch.Tensor, batch: int) -> torch.Tensor:
    """Values of batch rows `index` in a whole-batch tensor (zeros in rows never read)."""
    if index.shape[0] == batch:
        return values
    return values.new_zeros((batch,) + tuple(values.shape[1:])).index_copy(0, index, values)


def curve_structs(struct: GeomStruct) -> list:
    """The structure and the geometries of its instances (recursively) that have curves, each
    once, in depth-first order."""
    out, seen = [], set()

    def visit(s):
        if id(s) in seen:
            return
        seen.add(id(s))
        if s.curves:
            out.append(s)
        for i in s.instances:
            visit(i.geometry)

    visit(struct)
    return out


def split_rows(rows: Rows, index: torch.Tensor, structs: list, keys) -> list:
    """[(Rows, sub index, {id(struct): key})]: rows grouped by keys(struct, index) (a list of
    one hashable key per row) over all `structs`."""
    per = [keys(s, index) for s in structs]
    groups: dict = {}
    for r in range(index.shape[0]):
        groups.setdefault(tuple(p[r] for p in per), []).append(r)
    all_rows = index.cpu().numpy()
    out = []
    for key, members in groups.items():
        sub = index[torch.as_tensor(members, dtype=torch.int64, device=index.device)]
        chosen = np.zeros(rows.n, bool)
        chosen[all_rows[members]] = True
        out.append((Rows.from_numpy(chosen), sub, {id(s): k for s, k in zip(structs, key)}))
    return out


def rebuild(struct: GeomStruct, fn, memo: dict | None = None) -> GeomStruct:
    """fn(struct, its rebuilt instances) for the structure and, first, every instance geometry."""
    memo = {} if memo is None else memo
    if id(struct) not in memo:
        instances = tuple(Instance(rebuild(i.geometry, fn, memo), i.chain) for i in struct.instances)
        memo[id(struct)] = (struct, fn(struct, instances))
    return memo[id(struct)][1]
