"""Compiled shape programs: batched, differentiable evaluation of an IR node tree.

    prog = load_program("chair.json")              # or a library name, or an IR dict
    mesh = prog.evaluate_one({"Seat Height": 0.5})  # one shape
    groups = prog.evaluate({"Seat Height": torch.rand(1024) * 0.6 + 0.3})  # a population

Single values are evaluated once for the whole batch; geometry is symbolic and piecewise
(see the geometry package), and vertex positions are computed per topology group at the end.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import torch

from .errors import IRError, ParameterError
from .evaluation import Call, Evaluation
from .padded import Padding, padded_floats, real_rows
from .replay import Replays
from .geometry import CoefficientTable, Piecewise, Rows, Topology, assemble_topology, part_rows_vertices
from .ir import Parameter, ProgramIR, load_ir
from .library import program_source
from .ranges import format_bounds, format_number


@dataclass
class Mesh:
    """One evaluated shape. Faces are Blender's polygons; triangles are their fans."""

    vertices: torch.Tensor  # (V,3)
    face_offsets: torch.Tensor  # (F+1,) int64
    face_vertices: torch.Tensor  # (L,) int64
    triangles: torch.Tensor  # (T,3) int64
    part_id: torch.Tensor  # (T,) int64: which primitive instance made each triangle
    face_part_id: torch.Tensor  # (F,) int64
    part_names: tuple = ()  # per part id: the primitive node's path, stable across topologies


@dataclass
class MeshGroup:
    """Shapes of a batch that share one topology: rows `index` of the batch."""

    index: torch.Tensor  # (b,) int64 rows of the batch
    vertices: torch.Tensor  # (b,V,3)
    topology: Topology

    @property
    def triangles(self) -> torch.Tensor:
        return self.topology.triangles

    @property
    def part_id(self) -> torch.Tensor:
        return self.topology.face_part[self.topology.triangle_face]

    def mesh(self, i: int) -> Mesh:
        t = self.topology
        return Mesh(self.vertices[i], t.face_offsets, t.face_vertices, t.triangles, self.part_id, t.face_part,
                    t.part_names)


class Program:
    """A compiled shape program. Cheap to evaluate many times; holds no per-call state."""

    def __init__(self, ir: ProgramIR):
        self.ir = ir
        self.name = ir.name
        self.parameters: list[Parameter] = list(ir.parameters)
        self._by_name = {p.name: p for p in self.parameters}
        self._topologies: dict = {}
        self._plans: dict = {}  # group name -> _GroupPlan (derived from the IR once)
        self._consts: dict = {}  # (batch, dtype, device) -> broadcast constants (a few kept)
        self._limit_tensors: dict = {}  # (checked names, dtype, device) or (names, kind) -> (lo, hi) hard limits
        # Batches up to this size replay recorded evaluations (see replay.py; 0: never): a batch
        # evaluated again with the same integer values (new floats: a refinement, a slider) replays.
        self.replay_max_batch = 4096
        self._replays = Replays()
        self._padding = Padding()  # batches of new integer values replay laid out in slots (padded.py)
        self._float_names = [p.name for p in self.parameters if p.kind == "float"]
        self._int_kinds = [p.kind for p in self.parameters if p.kind != "float"]
        main = ir.groups[ir.main_group]
        geo = [s for s in main.outputs if s.type == "GEOMETRY"]
        if not geo:
            raise IRError(f"{ir.where}: main group '{main.name}' has no GEOMETRY output")
        self._output = geo[0].identifier

    def parameter(self, name: str) -> Parameter:
        if name not in self._by_name:
            raise ParameterError(f"program '{self.name}': unknown parameter '{name}' "
                                 f"(known: {', '.join(self._by_name)})")
        return self._by_name[name]

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.parameters}

    # -- parameter handling ----------------------------------------------------------------
    def _batch_values(self, values: dict, batch: int | None, dtype, device, check_limits: bool):
        for name in values:
            if name not in self._by_name:
                self.parameter(name)  # raises
        sizes = set()
        for v in values.values():
            if isinstance(v, torch.Tensor):
                if v.dim() > 0:
                    sizes.add(v.numel())
            elif torch.as_tensor(v).dim() > 0:
                sizes.add(int(torch.as_tensor(v).numel()))
        if batch is None:
            batch = max(sizes) if sizes else 1
        if sizes - {batch, 1}:
            raise ParameterError(f"program '{self.name}': parameter batch sizes {sorted(sizes)} != batch {batch}")
        out, checked = {}, []
        for p in self.parameters:
            v = values.get(p.name, p.default)
            given = None
            tensor = isinstance(v, torch.Tensor)
            if p.kind == "float":
                # as given (Python numbers as float64), so 1e39 is not checked as float32's inf
                given = v if tensor and v.device == device else torch.as_tensor(
                    v, dtype=None if tensor else torch.float64, device=device)
                t = given if given.dtype == dtype else given.to(dtype)
            elif p.kind == "int":
                t = v if tensor and v.device == device else torch.as_tensor(v, device=device)
                if t.is_floating_point() and bool((t != torch.trunc(t)).any()):
                    raise ParameterError(f"parameter '{p.name}' is an int, got a non-integer value")
                t = t.to(torch.int64)
            else:
                t = v if tensor and v.device == device else torch.as_tensor(v, device=device)
                if t.dtype != torch.bool:
                    if bool(((t != 0) & (t != 1)).any()):
                        raise ParameterError(f"parameter '{p.name}' is a bool, got {v!r}")
                    t = t != 0
            t = _as_batch(t, batch)
            if check_limits and p.kind != "bool" and p.name in values:
                # floats are checked as given (made float64 in _check_limits: exact)
                checked.append((p, t if given is None else _as_batch(
                    given if given.is_floating_point() else given.to(torch.float64), batch)))
            out[p.name] = t
        if checked:
            if device.type == "cpu" and batch <= 8:
                _check_few(checked)
            else:
                self._check_limits(checked)
        return out, batch

    @torch.no_grad()
    def _check_limits(self, checked: list) -> None:
        """ParameterError for the first value outside its parameter's hard limits or not finite
        (a few ops and one sync per parameter kind: NaN fails both comparisons).

        Every value is within its limits exactly when each parameter's smallest and largest
        are (amin and amax give NaN where a row holds one, failing the check), compared in Python
        against the limits as the full check below has them; only a failure runs that check,
        for the first bad value."""
        for kind in ("float", "int"):
            group = [(p, t) for p, t in checked if p.kind == kind]
            if not group:
                continue
            values = torch.stack([t for _, t in group])  # (P, B); floats of mixed widths promote exactly
            key = (tuple(p.name for p, _ in group), kind)
            limits = self._limit_tensors.get(key)
            if limits is None:  # the limits as float64 (floats) or int64 (ints) hold them, as Python numbers
                wide = torch.float64 if kind == "float" else torch.int64
                limits = self._limit_tensors[key] = tuple(
                    torch.tensor([p.hard[i] for p, _ in group], dtype=wide).tolist() for i in (0, 1))
            low, high = torch.stack((values.amin(dim=1), values.amax(dim=1))).tolist()  # one sync
            if all(a >= lo and b <= hi for a, b, lo, hi in zip(low, high, *limits)):
                continue
            if kind == "float" and values.dtype != torch.float64:
                values = values.to(torch.float64)
            key = (tuple(p.name for p, _ in group), values.dtype, values.device)
            bounds = self._limit_tensors.get(key)
            if bounds is None:
                bounds = self._limit_tensors[key] = tuple(
                    torch.tensor([p.hard[i] for p, _ in group], dtype=values.dtype, device=values.device)[:, None]
                    for i in (0, 1))
            ok = (values >= bounds[0]) & (values <= bounds[1])
            if not bool(ok.all()):
                row = int((~ok).any(dim=1).nonzero()[0])
                p = group[row][0]
                x = values[row][~ok[row]][0].item()
                what = "not a finite number" if not math.isfinite(x) else \
                    f"outside Blender's limits {format_bounds(*p.hard)}"
                raise ParameterError(f"parameter '{p.name}' = {format_number(x)} is {what}")

    def outside_search_range(self, values: dict) -> list[str]:
        """One message per parameter with a given value outside its search range (such values
        evaluate; the CLI prints these as warnings). Floats are compared as Blender stores them,
        in float32: 0.6000000238 is the float32 of 0.6, so it is inside [0.1, 0.6]."""
        out = []
        for name, v in values.items():
            p = self.parameter(name)
            if p.kind == "bool":
                continue
            t = torch.as_tensor(v).detach().reshape(-1)
            if p.kind == "float":
                t32, bounds = t.to(torch.float32), torch.tensor([p.min, p.max], dtype=torch.float32)
                bad = (t32 < bounds[0]) | (t32 > bounds[1])
            else:
                bad = (t < p.min) | (t > p.max)
            if bool(bad.any()):
                x = t[bad][0].item()
                soft = "" if p.soft is None or p.soft[0] <= x <= p.soft[1] else \
                    f", and outside the socket's soft limits {format_bounds(*p.soft)}"
                out.append(f"parameter '{name}' = {format_number(x)} is outside its search range "
                           f"{p.describe_range()}{soft}; evaluating it anyway")
        return out

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, values: dict | None = None, batch: int | None = None, dtype=torch.float32,
                 device=None, check_limits: bool = True) -> list[MeshGroup]:
        """Evaluate a batch of parameter sets (tensors of shape (B,) or scalars; unset = default).

        Returns one MeshGroup per distinct topology; together their `index` cover 0..B-1.
        Gradients flow from the vertices to every float parameter tensor. Any value Blender
        accepts evaluates, inside the search range or not; with `check_limits` a value outside
        a parameter's hard limits (or a non-finite float) is a ParameterError.
        """
        device = torch.device(device) if device is not None else None
        if device is None:
            tensors = [v for v in (values or {}).values() if isinstance(v, torch.Tensor)]
            device = tensors[0].device if tensors else torch.device("cpu")
        vals, batch = self._batch_values(values or {}, batch, dtype, device, check_limits)
        key = (batch, dtype, str(device))
        consts = self._consts_for(key)

        def run():
            return self._evaluate_values(vals, batch, dtype, device, consts)

        if batch > self.replay_max_batch:
            return [MeshGroup(*g) for g in run()]
        ints = [vals[p.name] for p in self.parameters if p.kind != "float"]
        if batch > 8 and ints:  # many rows: a digest of the integer values picks the recording (the
            # replay's guards check the path whatever picked it, so a collision could not mislead it)
            rows = [np.ascontiguousarray((t if device.type == "cpu" else t.cpu()).numpy()) for t in ints]
            discrete = (hash(b"".join(r.tobytes() for r in rows)),)
        elif device.type == "cpu":  # the integer values pick the recording (reads, no syncs)
            discrete = tuple(x for t in ints for x in t.tolist())
        else:
            discrete = tuple(torch.stack([t.to(torch.int64) for t in ints]).flatten().tolist()) if ints else ()
        # Every value is (batch,) of the kind's dtype (_batch_values): what else can differ is
        # requires_grad and, with several rows, strides.
        meta = key + tuple(t.requires_grad for t in vals.values())
        if batch > 1:
            meta += tuple(t.stride() for t in vals.values())
        if batch > 8 and ints and not self._replays.seen(meta, discrete):  # new integer values (a search)
            self._replays.see(meta, discrete)  # the next call with them records them
            groups = self._evaluate_padded(vals, batch, dtype, device, rows)
            return [MeshGroup(*g) for g in (run() if groups is None else groups)]
        groups = self._replays.evaluate(run, vals, meta, discrete)
        return [MeshGroup(*g) for g in groups]

    def _consts_for(self, key: tuple) -> dict:
        consts = self._consts.pop(key, None)
        if consts is None:
            consts = {}
            while len(self._consts) >= 4:  # a few batch sizes in use at once (fitting, viewer)
                self._consts.pop(next(iter(self._consts)))
        self._consts[key] = consts  # most recently used last
        return consts

    def _evaluate_padded(self, vals: dict, batch: int, dtype, device, ints: list) -> list | None:
        """The batch's groups from its rows laid out in slots (see padded.py): the padded batch's
        node tree and coefficient table replay, the vertices are gathered for the batch's own rows.
        None: no layout fits, the layout's batch is new (the next one records it), or it failed."""
        plan = self._padding.plan(ints, self._int_kinds, batch, device)
        if plan is None:
            return None
        layout, src, orig = plan
        key = ("padded", layout.size, dtype, str(device)) + tuple(t.requires_grad for t in vals.values())
        if not self._replays.seen(key, layout.key):
            self._replays.see(key, layout.key)
            return None
        floats = iter(padded_floats([vals[n] for n in self._float_names], torch.as_tensor(src, device=device)))
        ints = iter(layout.values)
        padded = {p.name: next(floats if p.kind == "float" else ints) for p in self.parameters}
        consts = self._consts_for((layout.size, dtype, str(device)))
        try:
            out = self._replays.evaluate(
                lambda: self._table(padded, layout.size, dtype, device, consts), padded, key, layout.key)
        except Exception:  # a padding row's values failing (the batch's own are checked): evaluate in full
            return None
        if out is None:  # parts with explicit positions: not padded
            self._padding = Padding(enabled=False)
            return None
        data, (table, pieces) = out
        pieces, sizes, rows_of = real_rows(pieces, orig, device, self._padding.pieces)
        if not pieces:
            return None
        verts = self._piece_vertices(table, data, pieces, sizes, rows_of, dtype, device)
        return [(rows, v, self._topology(struct.parts, device)) for (_, struct), (rows, v) in zip(pieces, verts)]

    def _table(self, vals: dict, batch: int, dtype, device, consts: dict):
        """(the coefficient table's (B, N) values, (the table, [(rows, struct)] of the pieces)), or
        None where a part has explicit positions: what a padded batch's replay computes."""
        ev, pieces = self._pieces(vals, batch, dtype, device, consts)
        unique: dict = {}
        for _, struct in pieces:
            for p in struct.parts:
                if p.prim.dense is not None:
                    return None
                unique.setdefault(p.key, p)
        if not unique:
            return None
        table = CoefficientTable(list(unique.values()), ev.geometry_cache, batch, dtype, device)
        return table.table, (table, pieces)

    def _pieces(self, vals: dict, batch: int, dtype, device, consts: dict) -> tuple:
        """(the evaluation, [(rows, struct)] of the output geometry's pieces by first row)."""
        ev = Evaluation(self.ir, vals, batch, dtype, device, self._plans, consts)
        root = Call(ev, self.ir.groups[self.ir.main_group], (), None)
        try:
            geometry: Piecewise = root.group_output(self._output)
        finally:
            root.release()  # no values are read from the calls after this
        return ev, sorted(geometry.merged().pieces, key=lambda piece: piece[0].first())

    def _evaluate_values(self, vals: dict, batch: int, dtype, device, consts: dict) -> list:
        """[(rows, vertices, topology)] per distinct topology, from checked batch values."""
        ev, pieces = self._pieces(vals, batch, dtype, device, consts)
        verts = self._gather(pieces, ev.geometry_cache, batch, dtype, device)
        return [(rows, v, self._topology(struct.parts, device)) for (_, struct), (rows, v) in zip(pieces, verts)]

    def _gather(self, pieces: list, cache: dict, batch: int, dtype, device) -> list:
        """[(rows, (b, V, 3) vertices)] per piece, from one table of per-row part coefficients
        (see geometry.CoefficientTable): a few ops per piece, however many parts it has."""
        # Blender's evaluated mesh holds the mesh component only: unrealized instances are dropped.
        unique: dict = {}
        dense = False
        for _, struct in pieces:
            for p in struct.parts:
                unique.setdefault(p.key, p)
                dense = dense or p.prim.dense is not None
        if dense:  # some parts have explicit positions: each part's vertices, gathered per piece
            return [(index, torch.cat([part_rows_vertices(p, index, cache) for p in struct.parts], 1)
                     if struct.parts else torch.zeros(index.shape[0], 0, 3, dtype=dtype, device=device))
                    for index, struct in ((rows.index(device), struct) for rows, struct in pieces)]
        table = CoefficientTable(list(unique.values()), cache, batch, dtype, device) if unique else None
        if table is None or len(pieces) == 1:  # one piece: its vertices straight from the table
            out = []
            for rows, struct in pieces:
                index = rows.index(device)
                out.append((index, table.vertices(struct.parts) if struct.parts else
                            torch.zeros(index.shape[0], 0, 3, dtype=dtype, device=device)))
            return out
        return self._piece_vertices(table, table.table, pieces, [rows.bits.bit_count() for rows, _ in pieces],
                                    lambda sets: Rows.indexes([rows for rows, _ in sets], device), dtype, device)

    @staticmethod
    def _piece_vertices(table, data: torch.Tensor, pieces: list, sizes: list, rows_of, dtype, device) -> list:
        """[(rows, (b, V, 3) vertices)] per piece (_, struct) of `sizes` rows from the table's values
        `data`; rows_of(some pieces) -> (the rows of `data` to gather for them one after another,
        the batch rows each stands for)."""
        # The pieces partition the batch: one row gather of the table, the pieces that share the
        # sums of every part first, then the pieces worth computing only their own parts' sums
        # (see CoefficientTable.own_sums); the shared sums are computed once for their rows.
        own = [table.own_sums(struct.parts, n) if struct.parts else None for (_, struct), n in zip(pieces, sizes)]
        order = [i for i, o in enumerate(own) if o is None] + [i for i, o in enumerate(own) if o is not None]
        every, indexes = rows_of([pieces[i] for i in order])
        selected = data.index_select(0, every)
        counts = [sizes[i] for i in order if own[i] is None]
        chunks = selected.split([sizes[i] for i in order]) if len(counts) < len(order) else ()
        values = () if not counts else table.values(
            selected[:sum(counts)] if len(counts) < len(order) else selected)
        if len(counts) > 1:
            values = values.split(counts)
        elif counts:  # (a one-way split may answer the tensor itself: replays refuse such results)
            values = (values,)
        out = [None] * len(pieces)
        for k, i in enumerate(order):
            struct, index, b = pieces[i][1], indexes[k], sizes[i]
            if not struct.parts:
                v = torch.zeros(b, 0, 3, dtype=dtype, device=device)
            elif own[i] is None:
                v = table.vertices(struct.parts, values=values[k])
            else:
                v = table.own_vertices(own[i], chunks[k])
            out[i] = (index, v)
        return out

    def _topology(self, parts: tuple, device) -> Topology:
        key = (tuple(p.prim.topo_id for p in parts), device)
        if key not in self._topologies:
            t = assemble_topology(parts)
            if device is not None and device.type != "cpu":
                t = Topology(*(x.to(device) if isinstance(x, torch.Tensor) else x for x in t.__dict__.values()))
            self._topologies[key] = t
        return self._topologies[key]

    def evaluate_one(self, values: dict | None = None, dtype=torch.float32, device=None,
                     check_limits: bool = True) -> Mesh:
        (group,) = self.evaluate(values or {}, batch=1, dtype=dtype, device=device, check_limits=check_limits)
        return group.mesh(0)

    # -- parameter sets --------------------------------------------------------------------
    def is_active(self, name: str, values: dict) -> bool:
        """Whether a parameter matters given the other values (IR `active_if`, transitively)."""
        p = self.parameter(name)
        if not p.active_if:
            return True
        return any(all(self.is_active(c["param"], values) and _equal(values.get(c["param"], self.parameter(
            c["param"]).default), c["equals"]) for c in clause) for clause in p.active_if)

    def sample(self, n: int, seed: int = 0) -> list[dict]:
        """n random parameter sets: every sampled parameter uniform in its range (seeded)."""
        rng = random.Random(seed)
        sets = []
        for _ in range(n):
            d = {}
            for p in self.parameters:
                if not p.sample:
                    d[p.name] = p.default
                elif p.kind == "float":
                    d[p.name] = rng.uniform(p.min, p.max)
                elif p.kind == "int":
                    d[p.name] = rng.randint(int(p.min), int(p.max))
                else:
                    d[p.name] = rng.random() < 0.5
            sets.append(d)
        return sets

    def stack(self, sets: list[dict], dtype=torch.float32, device=None) -> dict:
        """List of parameter dicts -> dict of (B,) tensors for `evaluate`."""
        out = {}
        for p in self.parameters:
            col = [s.get(p.name, p.default) for s in sets]
            out[p.name] = torch.tensor(col, dtype={"float": dtype, "int": torch.int64, "bool": torch.bool}[p.kind],
                                       device=device)
        return out


def _check_few(checked: list) -> None:
    """Program._check_limits for a few values on the CPU, compared in Python: the same
    comparisons (floats as float64, ints exactly), the same first error, no tensor ops."""
    for kind in ("float", "int"):
        for p, t in checked:
            if p.kind != kind:
                continue
            lo, hi = p.hard
            for x in t.tolist():
                if not lo <= x <= hi:
                    what = "not a finite number" if not math.isfinite(x) else \
                        f"outside Blender's limits {format_bounds(*p.hard)}"
                    raise ParameterError(f"parameter '{p.name}' = {format_number(x)} is {what}")


def _as_batch(t: torch.Tensor, batch: int) -> torch.Tensor:
    if t.dim() != 1 or t.shape[0] != batch:  # (B,) tensors (usual) stay as given
        return t.reshape(-1).expand(batch) if t.numel() == 1 else t.reshape(batch)
    return t


def _equal(a, b) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) == bool(b)
    return a == b


def load_program(source) -> Program:
    """A Program from an IR path, JSON text, dict, or the name of a library program."""
    return Program(load_ir(program_source(source)))
