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


def stack_columns(xs: list) -> torch.Tensor:
    """torch.stack(xs, -1), as a transposed view of the (K, B) stack where every x is (B,) with
    B >= 128 (at B = 1024 under half the cost of stacking along the last dim; below 128 that
    costs no more than the transpose). Element-wise ops give the same values whatever the
    strides: the five shared Blender programs' vertices and gradients at B = 1024 are bitwise
    those of the contiguous stack (tests/test_program.py); the result is not `view`-able."""
    if xs[0].dim() == 1 and xs[0].shape[0] >= 128 and all(x.dim() == 1 for x in xs):
        return torch.stack(xs).t()
    return torch.stack(xs, -1)


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
        return [(tables[0], stack_columns([inputs[j] for j in owners]).to(dtype))]
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
    E_ij * table[v, j]; the translation term is there when the part has one). Few of a part's
    coordinates are distinct sums (a cube's x is one of two), so `values` computes each distinct
    sum of every part once per row, D (b, U), with a multiply-add per slot over all parts with
    that many slots, and a piece's vertices are one gather of D's columns straight into their
    final (b, V*3) layout: no per-part work per piece, no transposes. A coordinate is computed
    by the same ops whichever piece, batch or table its part is in.
    """

    def __init__(self, parts: list, cache: dict, batch: int, dtype, device):
        self.layout_of: dict = {}  # part key -> interned layout id
        columns, width, layouts = [], 0, []
        placed: dict = {}  # id of a coefficient tensor -> (its first column, it): parts share some

        def place(x):
            nonlocal width
            at = placed.get(id(x))
            if at is None:
                at = placed[id(x)] = (width, x)  # holds x: ids stay unique while placing
                columns.append(x if x.dim() == 2 else x.reshape(x.shape[0], 9))
                width += columns[-1].shape[1]
            return at[0]

        for p in parts:
            terms, t = _row_terms(p, cache)
            layout = tuple((place(e), table, e.dim() == 3) for table, e in terms)
            self.layout_of[p.key] = _layout_id(layout, None if t is None else place(t))
            layouts.append(self.layout_of[p.key])
        if not columns:  # parts without coefficients (no vertices): a zero column to gather from
            columns.append(_zero_column(cache, batch, dtype, device))
        self.table = torch.cat([c if c.dtype == dtype else c.to(dtype) for c in columns], dim=1)
        key = (tuple(layouts), dtype, str(device))
        plan = _VALUE_PLANS.get(key)
        if plan is None:
            plan = _VALUE_PLANS[key] = _values_plan(key[0], dtype, device)
        self._sums, self._offsets = plan
        self._key = key
        self._part_keys: dict = {}

    def _parts_key(self, parts: tuple) -> tuple:
        """The plan key of `parts` (kept per parts tuple: a replayed table meets the same ones)."""
        known = self._part_keys.get(id(parts))
        if known is None or known[0] is not parts:
            known = self._part_keys[id(parts)] = (parts, (tuple(self.layout_of[p.key] for p in parts),) + self._key)
        return known[1]

    def values(self, c: torch.Tensor) -> torch.Tensor:
        """D (b, U): the distinct coordinate sums of every part, for coefficient rows c (b, N)."""
        return _sum_groups(c, self._sums)

    def own_sums(self, parts: tuple, rows: int):
        """The plan of `parts`' own distinct sums, where computing only those for a piece's
        `rows` saves more work than the few ops it adds (None: the piece takes its rows of D).
        A piece of a table whose other pieces have other parts (a table's legs, a chair's
        backs) needs a fraction of D's columns; its rows' coordinates are the same sums by the
        same ops either way."""
        key = self._parts_key(parts)
        plan = _OWN_PLANS.get(key)
        if plan is None:
            sums, offsets = _values_plan(key[0], key[-2], key[-1])
            idx, nv, _ = _piece_plan(key[0], offsets, key[-2], key[-1])
            plan = _OWN_PLANS[key] = (sums, idx, nv, sum(g[3] for g in sums))
        if self._key[-1] != "cpu":  # measured on the CPU only (a GPU's ops cost other amounts)
            return None
        width = sum(g[3] for g in self._sums)
        return plan if rows * (width - plan[3]) > _OWN_MIN_SAVED else None

    @staticmethod
    def own_vertices(plan: tuple, c: torch.Tensor) -> torch.Tensor:
        """(b, V, 3) vertices of a piece from its coefficient rows c (b, N) and its `own_sums`."""
        sums, idx, nv, _ = plan
        return _sum_groups(c, sums).index_select(1, idx).view(c.shape[0], nv, 3)

    def vertices(self, parts: tuple, rows: torch.Tensor | None = None, selected: torch.Tensor | None = None,
                 values: torch.Tensor | None = None) -> torch.Tensor:
        """(b, V, 3) vertices of `parts` concatenated, for batch `rows` (None: every row), for the
        rows of `selected` (rows of the table the caller gathered already), or from `values`
        (`values` of such rows). Without `values`, parts of one slot count sum each coordinate
        straight into place (the same ops per coordinate, without D's extra gather)."""
        key = self._parts_key(parts)
        plan = _PIECE_PLANS.get(key)
        if plan is None:
            plan = _PIECE_PLANS[key] = _piece_plan(key[0], self._offsets, key[-2], key[-1])
        idx, nv, direct = plan
        if values is None:
            c = selected if selected is not None else self.table if rows is None else self.table.index_select(0, rows)
            if direct is not None:
                return _sum_groups(c, direct).view(c.shape[0], nv, 3)
            values = self.values(c)
        if nv == 0:
            return values.new_zeros(values.shape[0], 0, 3)
        return values.index_select(1, idx).view(values.shape[0], nv, 3)


def _sum_groups(c: torch.Tensor, groups: list) -> torch.Tensor:
    """(b, sum of counts): per group (columns, slot weights, has_t, count), its sums over the
    coefficient rows c (b, N), groups side by side."""
    out = []
    for idx, weights, has_t, count in groups:
        g = c.index_select(1, idx).view(c.shape[0], len(weights) + has_t, count).unbind(1)
        x = g[0] * weights[0]  # a fresh tensor: the sums below go in place (same ops, no temporaries)
        for s in range(1, len(weights)):
            x += g[s] * weights[s]
        if has_t:
            x += g[-1]
        out.append(x)
    if not out:
        return c.new_zeros(c.shape[0], 0)
    return out[0] if len(out) == 1 else torch.cat(out, 1)


def _zero_column(cache: dict, batch: int, dtype, device) -> torch.Tensor:
    zero = cache.get("zero column")
    if zero is None:
        zero = cache["zero column"] = torch.zeros(batch, 1, dtype=dtype, device=device)
    return zero


_LAYOUTS: list = []  # interned part layouts: ((column, table, full) per term, translation column)
_LAYOUT_IDS: dict = {}
_SUMS: dict = {}  # layout id -> its distinct sums (see _layout_sums)
_VALUE_PLANS: dict = {}  # (layout ids of a table, dtype, device) -> (sum groups, layout id -> D offset)
_PIECE_PLANS: dict = {}  # (layout ids of a piece, table key) -> (D column per coordinate, V, direct sums)
_OWN_PLANS: dict = {}  # (layout ids of a piece, table key) -> (its own sum groups, column per coordinate, V, U)
# Rows x sums a piece must save to take its own sums (its 3 extra ops cost about as much as
# computing this many sums: the chair, table, sofa and bed at B = 64, 256 and 1024, CPU, 1
# thread, compared in one process with 2048, 8192, 16384 and never: 4096 was best or level).
_OWN_MIN_SAVED = 4096


def _layout_id(layout: tuple, t_col) -> int:
    key = (tuple((o, id(tb), full) for o, tb, full in layout), t_col)
    if key not in _LAYOUT_IDS:
        _LAYOUT_IDS[key] = len(_LAYOUTS)
        _LAYOUTS.append((layout, t_col))  # holds the tables: ids stay unique
    return _LAYOUT_IDS[key]


def _layout_sums(layout_id: int) -> tuple:
    """(columns (S + has_t, U), weights (S, U) float64, has_t, which sum each coordinate is (V*3,))
    of a part layout: its coordinates' distinct (columns, weights) combinations."""
    if layout_id not in _SUMS:
        lay, t = _LAYOUTS[layout_id]
        nv = lay[0][1].shape[0] if lay else 0
        comp = np.arange(3)[None, :].repeat(nv, 0)
        cols, weights = [], []
        for o, table, full in lay:
            tb = table.detach().cpu().double().numpy()
            if full:
                for j in range(3):
                    cols.append(o + comp * 3 + j)
                    weights.append(np.repeat(tb[:, j:j + 1], 3, 1))
            else:
                cols.append(o + comp)
                weights.append(tb)
        if t is not None:
            cols.append(t + comp)
        cols = np.stack([c.reshape(-1) for c in cols]) if cols else np.zeros((0, 3 * nv), np.int64)
        weights = np.stack([w.reshape(-1) for w in weights]) if weights else np.zeros((0, 3 * nv))
        keys = np.concatenate([cols, weights.view(np.int64)]).T  # (V*3, K): equal rows are one sum
        if nv:
            uniq, first, which = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            first = first.reshape(-1)
        else:
            first, which = np.zeros(0, np.int64), np.zeros(0, np.int64)
        _SUMS[layout_id] = (cols[:, first], weights[:, first], t is not None, which.reshape(-1))
    return _SUMS[layout_id]


def _values_plan(layout_ids: tuple, dtype, device) -> tuple:
    """The groups of sums `CoefficientTable.values` computes for a table of parts with these
    layouts (parts of equal slot count and translation together), and each layout's offset in D."""
    groups: dict = {}  # (slots, has_t) -> [layout ids]
    for lid in dict.fromkeys(layout_ids):
        cols, weights, has_t, _ = _layout_sums(lid)
        if cols.shape[1]:
            groups.setdefault((weights.shape[0], has_t), []).append(lid)
    sums, offsets, width = [], {}, 0
    for (slots, has_t), lids in groups.items():
        cols = np.concatenate([_layout_sums(lid)[0] for lid in lids], axis=1)
        weights = np.concatenate([_layout_sums(lid)[1] for lid in lids], axis=1)
        for lid in lids:
            offsets[lid] = width
            width += _layout_sums(lid)[0].shape[1]
        w = torch.as_tensor(weights, dtype=dtype, device=device)
        sums.append((torch.as_tensor(cols.reshape(-1), dtype=torch.int64, device=device), tuple(w.unbind(0)),
                     has_t, cols.shape[1]))
    return sums, offsets


def _piece_plan(layout_ids: tuple, offsets: dict, dtype, device) -> tuple:
    """(the column of D for each coordinate of the piece (V*3,), V, direct): its parts' sums in
    order; `direct`: those sums as one group for `_sum_groups` (None where the piece's parts
    differ in slot count or translation: D computes each kind apart)."""
    which = [_layout_sums(lid)[3] + offsets.get(lid, 0) for lid in layout_ids]
    idx = np.concatenate(which) if which else np.zeros(0, np.int64)
    sums = [_layout_sums(lid) for lid in layout_ids]
    sums = [sm for sm in sums if sm[3].shape[0]]  # parts without vertices add nothing
    direct = None
    if sums and len({(sm[1].shape[0], sm[2]) for sm in sums}) == 1:
        cols = np.concatenate([sm[0][:, sm[3]] for sm in sums], axis=1)
        weights = torch.as_tensor(np.concatenate([sm[1][:, sm[3]] for sm in sums], axis=1),
                                  dtype=dtype, device=device)
        direct = [(torch.as_tensor(cols.reshape(-1), dtype=torch.int64, device=device), tuple(weights.unbind(0)),
                   sums[0][2], cols.shape[1])]
    return torch.as_tensor(idx, dtype=torch.int64, device=device), idx.shape[0] // 3, direct


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
