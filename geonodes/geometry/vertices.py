"""Vertex positions of parts: transform chains composed into per-row affines, folded into the
primitives' coefficients, gathered per topology from one `CoefficientTable`."""
from __future__ import annotations

import numpy as np
import torch

from .structure import GeomStruct, Part, Prim


# ---------------------------------------------------------------- affine chains
#
# Compositions are written as explicit element-wise products and sums (no matmul, no sum()
# reductions) so every batch row is computed by the same float operations in the same order
# whatever the batch size: a batch evaluates bitwise like its rows evaluated one at a time.
# A diagonal m is the (B,3,3) matrix with that diagonal; both forms give equal results for it
# (the extra terms are exact zeros), so batch-level choices between them cannot change a row.


def _mat_mat(a, b):
    """a @ b for m values (None, (B,3) diagonal, (B,3,3))."""
    if a is None:
        return b
    if b is None:
        return a
    if a.dim() == 2 and b.dim() == 2:
        return a * b
    if a.dim() == 3 and b.dim() == 2:
        return a * b[:, None, :]
    if a.dim() == 2:
        return a[:, :, None] * b
    return (a[:, :, 0, None] * b[:, None, 0, :] + a[:, :, 1, None] * b[:, None, 1, :]
            + a[:, :, 2, None] * b[:, None, 2, :])


def _mat_vec(m, t):
    """m @ t for t (B,3)."""
    if m is None:
        return t
    if m.dim() == 2:
        return m * t
    return m[:, :, 0] * t[:, 0, None] + m[:, :, 1] * t[:, 1, None] + m[:, :, 2] * t[:, 2, None]


def compose(outer: tuple, inner: tuple) -> tuple:
    """(m, t) of `outer` applied after `inner`."""
    m2, t2 = outer
    m1, t1 = inner
    t = None if t1 is None else _mat_vec(m2, t1)
    t = t2 if t is None else (t if t2 is None else t + t2)
    return _mat_mat(m2, m1), t


IDENTITY = (None, None)


def chain_affine(chain: tuple, cache: dict) -> tuple:
    """The composed (m, t) of a transform chain (innermost first); every prefix is cached, so
    chains sharing a prefix (parts of one node, pieces of one batch) compose it once."""
    if not chain:
        return IDENTITY
    key = ("chain",) + tuple(id(x) for x in chain)
    if key not in cache:
        cache[key] = (chain, compose(chain[-1].affine(cache), chain_affine(chain[:-1], cache)))
    return cache[key][1]


_TERMS: dict = {}


def _terms(lin, dtype, device) -> list:
    """The primitive's (table (V,3), coefficient) terms; scalar coefficients of tables using
    disjoint coordinates become one (B,3) coefficient (a cube or a cylinder is one term).
    The merge depends on the tables only (never on the values), so every batch size makes it."""
    inputs = lin.inputs
    key = (id(lin.topo), tuple(x.dim() for x in inputs), dtype, device)
    if key not in _TERMS:
        tables = lin.topo.tables
        used = [set(torch.nonzero(t.abs().sum(0)).flatten().tolist()) for t in tables]
        disjoint = all(not (used[a] & used[b]) for a in range(len(used)) for b in range(a))
        if len(tables) > 1 and disjoint and all(x.dim() == 1 for x in inputs):
            column_owner = [next((j for j, u in enumerate(used) if c in u), 0) for c in range(3)]
            plan = ("stack", column_owner, [sum(tables).to(device=device, dtype=dtype)])
        else:
            plan = ("terms", list(range(len(tables))), [t.to(device=device, dtype=dtype) for t in tables])
        _TERMS[key] = (lin.topo, plan)  # holds the topology: ids stay unique while cached
    kind, owners, tables = _TERMS[key][1]
    if kind == "stack":
        return [(tables[0], torch.stack([inputs[j] for j in owners], -1).to(dtype))]
    return [(t, inputs[j] if inputs[j].dtype == dtype else inputs[j].to(dtype)) for t, j in zip(tables, owners)]


def _linear(prim: Prim, cache: dict):
    key = ("linear", id(prim))
    if key not in cache:
        cache[key] = (prim, prim.linear())
    return cache[key][1]


def _row_terms(part: Part, cache: dict):
    """Per-row coefficients of a part: ([(table (V,3), e)], t) with e (B,3) for a diagonal
    chain or (B,3,3) otherwise and t (B,3) or None: vertex = sum_k e_k table_k + t."""
    lin = _linear(part.prim, cache)
    m, t = chain_affine(part.chain, cache)
    if lin.offset is not None:  # the primitive's own translation comes first
        t = compose((m, t), (None, lin.offset.to(lin.dtype)))[1]
    terms = []
    for table, c in _terms(lin, lin.dtype, lin.device):
        if m is None:
            e = c[:, None].expand(-1, 3) if c.dim() == 1 else c
        elif m.dim() == 2:
            e = m * (c[:, None] if c.dim() == 1 else c)
        else:
            e = m * (c[:, None, None] if c.dim() == 1 else c[:, None, :])
        terms.append((table, e if e.shape[0] == lin.n else e.expand((lin.n,) + tuple(e.shape[1:]))))
    return terms, (t if t is None or t.shape[0] == lin.n else t.expand(lin.n, 3))


class CoefficientTable:
    """Per-row coefficients of a set of parts side by side: C (B, N) and each part's layout.

    A vertex coordinate is a short sum over "slots": x[b, v, i] = sum_s C[b, a_s(v,i)] w_s(v,i)
    + C[b, t(v,i)] (a diagonal term is one slot, e_i * table[v, i]; a full 3x3 term is three,
    E_ij * table[v, j]). A piece's vertices are then gathered straight into their final
    (b, V*3) layout with one index_select and a multiply-add per slot, whose operands
    broadcast a (1, V*3) template over rows: no per-part work per piece, and no transposes.
    The last column of C is zero: unused slots and missing translations point at it.
    """

    def __init__(self, parts: list, cache: dict, batch: int, dtype, device):
        self.layout_of: dict = {}  # part key -> interned layout id
        columns, width = [], 0
        for p in parts:
            terms, t = _row_terms(p, cache)
            layout = []
            for table, e in terms:
                layout.append((width, table, e.dim() == 3))
                columns.append(e if e.dim() == 2 else e.reshape(e.shape[0], 9))
                width += columns[-1].shape[1]
            t_col = None
            if t is not None:
                t_col = width
                columns.append(t)
                width += 3
            self.layout_of[p.key] = _layout_id(tuple(layout), t_col)
        self.zero = width
        columns.append(_zero_column(cache, batch, dtype, device))
        self.table = torch.cat([c if c.dtype == dtype else c.to(dtype) for c in columns], dim=1)
        self.plan_key = (width, dtype, str(device))

    def vertices(self, parts: tuple, rows: torch.Tensor | None,
                 selected: torch.Tensor | None = None) -> torch.Tensor:
        """(b, V, 3) vertices of `parts` concatenated, for batch `rows` (None: every row), or for
        the rows of `selected` (rows of the table the caller gathered already)."""
        key = (tuple(self.layout_of[p.key] for p in parts),) + self.plan_key
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = _gather_plan(key[0], self.zero, self.table.dtype, self.table.device)
        idx, weights, has_t, nv = plan
        if selected is not None:
            c = selected
        else:
            c = self.table if rows is None else self.table.index_select(0, rows)
        if nv == 0:
            return c.new_zeros(c.shape[0], 0, 3)
        g = c.index_select(1, idx).view(c.shape[0], len(weights) + has_t, 3 * nv).unbind(1)
        x = g[0] * weights[0]  # a fresh tensor: the sums below go in place (same ops, no temporaries)
        for s in range(1, len(weights)):
            x += g[s] * weights[s]
        if has_t:
            x += g[-1]
        return x.view(c.shape[0], nv, 3)


def _zero_column(cache: dict, batch: int, dtype, device) -> torch.Tensor:
    zero = cache.get("zero column")
    if zero is None:
        zero = cache["zero column"] = torch.zeros(batch, 1, dtype=dtype, device=device)
    return zero


_LAYOUTS: list = []  # interned part layouts: ((column, table, full) per term, translation column)
_LAYOUT_IDS: dict = {}
_PLANS: dict = {}


def _layout_id(layout: tuple, t_col) -> int:
    key = (tuple((o, id(tb), full) for o, tb, full in layout), t_col)
    if key not in _LAYOUT_IDS:
        _LAYOUT_IDS[key] = len(_LAYOUTS)
        _LAYOUTS.append((layout, t_col))  # holds the tables: ids stay unique
    return _LAYOUT_IDS[key]


def _gather_plan(layout_ids: tuple, zero: int, dtype, device):
    """(column index (S or S+1, V*3) flattened, S slot weights (V*3,), has translation, V) of a
    piece made of parts with these layouts (cached by the caller: structures recur every call)."""
    layouts = [_LAYOUTS[i] for i in layout_ids]
    slots_of = []  # per part: [(column (V,3) array, weight (V,3) array)]
    for lay, _ in layouts:
        slots = []
        for o, table, full in lay:
            tb = table.detach().cpu().double().numpy()
            comp = np.arange(3)[None, :].repeat(tb.shape[0], 0)
            if full:
                for j in range(3):
                    slots.append((o + comp * 3 + j, np.repeat(tb[:, j:j + 1], 3, 1)))
            else:
                slots.append((o + comp, tb))
        slots_of.append(slots)
    nslots = max([len(sl) for sl in slots_of] + [1])
    has_t = any(t is not None for _, t in layouts)
    idx, weights = [], []
    for (lay, t), slots in zip(layouts, slots_of):
        nv = lay[0][1].shape[0] if lay else 0
        comp = np.arange(3)[None, :].repeat(nv, 0)
        cols = [sl[0] for sl in slots] + [np.full((nv, 3), zero)] * (nslots - len(slots))
        ws = [sl[1] for sl in slots] + [np.zeros((nv, 3))] * (nslots - len(slots))
        if has_t:
            cols.append(t + comp if t is not None else np.full((nv, 3), zero))
        idx.append(np.stack([c.reshape(-1) for c in cols]))
        weights.append(np.stack([w.reshape(-1) for w in ws]))
    idx = np.concatenate(idx, axis=1)
    weights = torch.as_tensor(np.concatenate(weights, axis=1), dtype=dtype, device=device)
    return (torch.as_tensor(idx.reshape(-1), dtype=torch.int64, device=device), tuple(weights.unbind(0)),
            has_t, idx.shape[1] // 3)


def apply_affine(affine: tuple, points: torch.Tensor) -> torch.Tensor:
    """(m, t) applied to (B, V, 3) points (m None, (B,3) diagonal or (B,3,3); t None or (B,3))."""
    m, t = affine
    if m is not None:
        if m.dim() == 2:
            points = points * m[:, None, :]
        else:
            points = (m[:, None, :, 0] * points[:, :, 0, None] + m[:, None, :, 1] * points[:, :, 1, None]
                      + m[:, None, :, 2] * points[:, :, 2, None])
    return points if t is None else points + t[:, None, :]


def part_vertices(part: Part, cache: dict) -> torch.Tensor:
    """(B, V, 3) vertices of one part for the whole batch (cached per evaluation)."""
    key = ("part",) + part.key
    if key not in cache and part.prim.dense is not None:
        cache[key] = (part, apply_affine(chain_affine(part.chain, cache), part.prim.dense))
    if key not in cache:
        lin = _linear(part.prim, cache)
        table = CoefficientTable([part], cache, lin.n, lin.dtype, lin.device)
        cache[key] = (part, table.vertices((part,), None))
    return cache[key][1]


def part_rows_vertices(part: Part, rows: torch.Tensor, cache: dict) -> torch.Tensor:
    """(b, V, 3) vertices of one part for batch `rows` only (a dense part's chain is applied to
    those rows alone; a symbolic part's vertices are gathered from the whole batch's)."""
    if part.prim.dense is None:
        return part_vertices(part, cache).index_select(0, rows)
    m, t = chain_affine(part.chain, cache)
    n = part.prim.dense.shape[0]
    m = m if m is None or m.shape[0] != n else m.index_select(0, rows)
    t = t if t is None or t.shape[0] != n else t.index_select(0, rows)
    return apply_affine((m, t), part.prim.dense.index_select(0, rows))


def struct_points(struct: GeomStruct, cache: dict) -> torch.Tensor:
    """(B, P, 3) positions of the mesh vertices of a structure (used as points)."""
    verts = [part_vertices(p, cache) for p in struct.parts]
    return torch.cat(verts, dim=1) if verts else torch.zeros(0, 0, 3)
