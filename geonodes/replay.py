"""Recorded evaluations: a small batch's evaluation replayed as its list of torch calls.

At B = 1 an evaluation runs a few dozen tensor ops but thousands of Python steps (node
dispatch, piecewise bookkeeping, structures, caches). `record` runs the evaluator once under a
torch function mode and keeps every top-level torch call (function, arguments with the
tensors it produced replaced by slots, results); `replay` reruns only those calls on new
input tensors, so gradients flow exactly as in the evaluation it recorded.

Sound by construction: Python decisions during an evaluation depend on tensor data only through
torch calls that return Python values (`bool(t)`, `.item()`, `.tolist()`, `.numpy()`...), and
on shapes. Every such call is a guard (replay recomputes it and gives up if the value differs)
and every tensor result's shape is checked, so a replay either follows the recorded path
exactly, computing the same ops on the same operands, or raises `GuardFailed` (the caller then
evaluates in full). Metadata reads (dtype, dim, requires_grad...) follow from the inputs'
metadata, which is part of the caller's key. A recording that writes in place into a tensor it
did not create is refused (`record` returns no trace). Assumed of the evaluator (true of every
node module today): it does not write into numpy arrays that share a tensor's memory, nor take
randomness or tensor data from anywhere but torch calls.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.overrides import TorchFunctionMode


class GuardFailed(Exception):
    """The replayed evaluation would have taken another path than the recorded one."""


class _Ref:
    __slots__ = ("i",)

    def __init__(self, i: int):
        self.i = i


class _Seq:  # a list or tuple argument holding produced tensors
    __slots__ = ("type", "items")

    def __init__(self, type_, items):
        self.type, self.items = type_, items


# Reads whose values follow from the metadata of the tensors (fixed by the caller's key and
# the recorded path): not replayed.
_META_METHODS = {"dim", "ndimension", "numel", "nelement", "size", "is_floating_point", "is_complex",
                 "element_size", "stride", "is_contiguous", "__len__", "get_device", "is_signed"}
_META_PROPERTIES = {"shape", "dtype", "device", "ndim", "requires_grad", "is_cuda", "is_cpu", "layout",
                    "is_sparse", "is_quantized", "is_meta", "is_nested", "itemsize", "nbytes",
                    "is_mps", "is_xpu"}


def _is_meta(func) -> bool:
    name = getattr(func, "__name__", "")
    if name == "__get__":
        return getattr(getattr(func, "__self__", None), "__name__", None) in _META_PROPERTIES
    return name in _META_METHODS


def _in_place(func, kwargs) -> bool:
    name = getattr(func, "__name__", "")
    if name == "__get__":
        return False
    return ("out" in kwargs or name == "__setitem__" or (name.endswith("_") and not name.endswith("__"))
            or (name.startswith("__i") and name.endswith("__") and name not in ("__index__", "__int__", "__invert__")))


class Trace:
    """The torch calls of one recorded evaluation; `outputs` is its result with slots."""

    def __init__(self, inputs: list, ops: list, outputs):
        self.inputs, self.ops, self.outputs = inputs, ops, outputs
        self.fn = None  # compiled on first replay (compile_trace)


class _Recorder(TorchFunctionMode):
    def __init__(self, inputs: dict):
        super().__init__()
        self.slot: dict = {}  # id(tensor) -> slot
        self.keep: list = []  # every tensor seen (ids stay unique while recording)
        self.ops: list = []
        self.ok = True
        self.names = list(inputs)
        for name in self.names:
            self._new_slot(inputs[name])

    def _new_slot(self, t) -> _Ref:
        i = len(self.keep)
        self.slot[id(t)] = i
        self.keep.append(t)
        return _Ref(i)

    def spec(self, x):
        if isinstance(x, torch.Tensor):
            i = self.slot.get(id(x))
            return x if i is None else _Ref(i)
        if isinstance(x, (list, tuple)) and type(x) in (list, tuple):
            items = [self.spec(v) for v in x]
            if any(isinstance(v, (_Ref, _Seq)) for v in items):
                return _Seq(type(x), items)
        return x

    def out_spec(self, x):
        """Results: every tensor gets a new slot (a view of an input is a new tensor too)."""
        if isinstance(x, torch.Tensor):
            if id(x) in self.slot and self.keep[self.slot[id(x)]] is x:
                return _Ref(self.slot[id(x)]), (_Ref(self.slot[id(x)]), tuple(x.shape))
            r = self._new_slot(x)
            return r, (r, tuple(x.shape))
        if type(x) in (list, tuple) and x and all(isinstance(v, torch.Tensor) for v in x):
            pairs = [self.out_spec(v) for v in x]
            return _Seq(type(x), [p[0] for p in pairs]), [p[1] for p in pairs]
        return None, None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _is_meta(func):
            return func(*args, **kwargs)
        if _in_place(func, kwargs):
            target = args[0] if args else kwargs.get("out")
            if isinstance(target, torch.Tensor) and id(target) not in self.slot:
                self.ok = False  # writes into a tensor made outside: replays would repeat it
        aspec = tuple(self.spec(a) for a in args)
        kspec = {k: self.spec(v) for k, v in kwargs.items()} or None
        out = func(*args, **kwargs)
        ref, shapes = self.out_spec(out)
        if ref is not None:
            self.ops.append((func, aspec, kspec, 0, shapes))
        elif isinstance(out, torch.Tensor) or (isinstance(out, (list, tuple)) and any(
                isinstance(v, torch.Tensor) for v in out)):
            self.ok = False  # a mixed result: not handled
        else:
            self.ops.append((func, aspec, kspec, 1, _frozen(out)))  # a guard: the same value on replay
        return out


def _frozen(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _same(a, b) -> bool:
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and bool((a == b).all())
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def record(fn, inputs: dict):
    """(fn(), Trace or None): fn evaluated with its torch calls recorded. `inputs` are the
    tensors replays will substitute; fn's result may hold tensors in lists and tuples."""
    rec = _Recorder(inputs)
    with rec:
        result = fn()
    outputs = rec.spec(_listify(result))
    trace = Trace(rec.names, rec.ops, outputs) if rec.ok else None
    return result, trace


def _listify(x):
    if type(x) in (list, tuple):
        return type(x)(_listify(v) for v in x)
    return x


# Ops whose result shapes follow from their operands' shapes and their Python arguments (their
# results are not shape-checked on replay; every other op's are).
_SHAPE_SAFE = set("""add sub mul div true_divide neg abs sign floor ceil trunc round sqrt exp log sin cos tan asin
acos atan atan2 sinh cosh tanh pow fmod remainder minimum maximum clamp clamp_min clamp_max where lerp
eq ne lt le gt ge logical_and logical_or logical_not logical_xor bitwise_and bitwise_or bitwise_not
__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __neg__ __pow__ __rpow__
__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __and__ __or__ __xor__ __invert__ __abs__
__iadd__ __isub__ __imul__ __itruediv__ add_ sub_ mul_ div_ copy_
stack cat concat concatenate view reshape expand expand_as view_as reshape_as unsqueeze squeeze flatten
permute transpose movedim t contiguous clone detach cpu to float double long int bool type_as
index_select unbind split chunk select narrow zeros_like ones_like full_like empty_like cumsum prod sum
amin amax min max mean all any""".split())


def _refs(spec, out: list) -> list:
    if type(spec) is _Ref:
        out.append(spec.i)
    elif type(spec) is _Seq:
        for v in spec.items:
            _refs(v, out)
    return out


def _op_refs(aspec, kspec) -> list:
    out: list = []
    for a in aspec:
        _refs(a, out)
    for v in (kspec or {}).values():
        _refs(v, out)
    return out


_RANDOM = ("rand", "normal", "bernoulli", "multinomial", "dropout", "poisson", "exponential_")


# Ops whose tensor results always have storage of their own (never a view of an operand).
_ALLOCATING = _SHAPE_SAFE - set("""view reshape expand expand_as view_as reshape_as unsqueeze squeeze flatten
permute transpose movedim t contiguous detach cpu to float double long int bool type_as select narrow
unbind split chunk __iadd__ __isub__ __imul__ __itruediv__ add_ sub_ mul_ div_ copy_""".split())


def _constants(trace: Trace) -> dict:
    """slot -> value for the results computed from constants alone (a broadcast constant's
    arithmetic, index tensors, zero columns): computed once, here, not on every replay. Tensors
    written in place later (and what they are views of), results and random draws are not."""
    producer, inputs_of, protected = {}, {}, set()
    for k, (func, aspec, kspec, kind, check) in enumerate(trace.ops):
        refs = _op_refs(aspec, kspec)
        if kind != 0:
            continue
        outs = [check[0].i] if type(check) is tuple else [c[0].i for c in check]
        for i in outs:
            if i not in producer and i >= len(trace.inputs):  # else the op answered an earlier tensor
                producer[i], inputs_of[i] = k, refs
        if _in_place(func, kspec or {}):  # the tensor written into
            protected.update(_refs(kspec["out"], []) if kspec and "out" in kspec else
                             (_refs(aspec[0], []) if aspec else refs))
    protected.update(_refs(trace.outputs, []) if isinstance(trace.outputs, (_Ref, _Seq)) else [])
    stack = list(protected)
    while stack:  # what protected tensors may be views of
        i = stack.pop()
        if i not in producer or getattr(trace.ops[producer[i]][0], "__name__", "") in _ALLOCATING:
            continue
        for j in inputs_of[i]:
            if j not in protected:
                protected.add(j)
                stack.append(j)
    values: dict = {}
    for func, aspec, kspec, kind, check in trace.ops:
        if kind != 0 or type(check) is not tuple or (kspec and "requires_grad" in kspec):
            continue
        i = check[0].i
        name = getattr(func, "__name__", "")
        if i in protected or producer.get(i) is None or _in_place(func, kspec or {}) or \
                any(r in name for r in _RANDOM):
            continue
        refs = _op_refs(aspec, kspec)
        if all(j in values for j in refs):
            args = [_resolve(a, values) for a in aspec]
            values[i] = func(*args, **{k: _resolve(v, values) for k, v in (kspec or {}).items()})
    return values


def _value_reads(trace: Trace) -> dict:
    """numpy guard op -> (tensor slot, the detach/cpu ops before it): `t.detach().cpu().numpy()`
    compared with the recorded array is `t.tolist()` compared with its list (the same values,
    dtype and shape following from the recording), one call instead of three."""
    uses: dict = {}
    producer, last = {}, {}  # slot -> the op that made it, the last op that answered it
    for k, (func, aspec, kspec, kind, check) in enumerate(trace.ops):
        for i in _op_refs(aspec, kspec):
            uses.setdefault(i, set()).add(k)
        if kind == 0 and type(check) is tuple:
            producer.setdefault(check[0].i, k)
            last[check[0].i] = k
    results = set(_refs(trace.outputs, [])) if isinstance(trace.outputs, (_Ref, _Seq)) else set()

    def single(k, name):  # the op's only argument slot, if it is `name` of one tensor
        func, aspec, kspec, kind, check = trace.ops[k]
        if getattr(func, "__name__", "") == name and not kspec and len(aspec) == 1 and type(aspec[0]) is _Ref:
            return aspec[0].i
        return None

    out = {}
    for k, (func, aspec, kspec, kind, check) in enumerate(trace.ops):
        if kind != 1 or not isinstance(check, np.ndarray):
            continue
        y = single(k, "numpy")
        j = last.get(y)
        if y is None or j is None or y in results:
            continue
        x = single(j, "cpu")
        if x is None:
            continue
        if x == y:  # on the CPU, cpu() answers its tensor: x = detach(s); x.cpu(); x.numpy()
            p = producer.get(x) if uses.get(x) == {j, k} else None
            chain = {j} if p is None else {p, j}
        else:  # y = x.cpu(), a new tensor
            p = producer.get(x) if uses.get(y) == {k} and uses.get(x) == {j} else None
            chain = {j} if p is None else {p, j}
        if p is None or x in results or j == p:
            continue
        source = single(p, "detach")
        if source is not None:
            out[k] = (source, chain)
    return out


def _dead(trace: Trace, skip: set, reads: dict) -> set:
    """Ops whose results nothing uses (the output, a guard, an op writing in place, a shape
    check): made by one path and dropped by it, say. Only ops of _SHAPE_SAFE go: any other's
    shape check stands for Python having read its shape."""
    live = set(_refs(trace.outputs, [])) if isinstance(trace.outputs, (_Ref, _Seq)) else set()
    dead = set()
    for k in range(len(trace.ops) - 1, -1, -1):
        func, aspec, kspec, kind, check = trace.ops[k]
        refs = _op_refs(aspec, kspec)
        if k in reads:
            live.add(reads[k][0])
            continue
        if k in skip:
            continue
        outs = [] if kind else ([check[0].i] if type(check) is tuple else [c[0].i for c in check])
        if kind == 0 and getattr(func, "__name__", "") in _SHAPE_SAFE and not _in_place(func, kspec or {}) \
                and not any(o in live or o in refs for o in outs):
            dead.add(k)
        else:
            live.update(refs)
    return dead


def _resolve(spec, values: dict):
    if type(spec) is _Ref:
        return values[spec.i]
    if type(spec) is _Seq:
        return spec.type(_resolve(v, values) for v in spec.items)
    return spec


def compile_trace(trace: Trace):
    """The trace as one straight-line Python function inputs -> result (GuardFailed if a
    guard or a result shape differs): no per-op interpretation on replay."""
    ns = {"GuardFailed": GuardFailed, "_same": _same, "_grad": torch.is_grad_enabled,
          "_set_grad": torch.set_grad_enabled}
    folded = _constants(trace)
    lines = ["def replay(inputs):", "    _g = _grad()", "    try:"]
    slots = ["t%d" % i for i in range(len(trace.inputs))]
    if slots:
        lines.append("        %s, = [inputs[n] for n in _names]" % ", ".join(slots))
    ns["_names"] = list(trace.inputs)
    nslot = [len(slots)]

    def const(x) -> str:
        if x is None or isinstance(x, bool) or (type(x) in (int, float) and x == x and abs(x) != float("inf")):
            return repr(x)
        name = "c%d" % len(ns)
        ns[name] = x
        return name

    def expr(spec) -> str:
        if type(spec) is _Ref:
            return const(folded[spec.i]) if spec.i in folded else "t%d" % spec.i
        if type(spec) is _Seq:
            items = [expr(v) for v in spec.items]
            return ("[%s]" if spec.type is list else "(%s,)") % ", ".join(items)
        return const(spec)

    reads = _value_reads(trace)
    skip = {j for _, chain in reads.values() for j in chain}
    skip |= _dead(trace, skip, reads)
    for k, (func, aspec, kspec, kind, check) in enumerate(trace.ops):
        if k in skip:  # part of a value read below: its new slots go unused
            for ref, _ in [check] if type(check) is tuple else check:
                if ref.i == nslot[0]:  # each new slot in turn (a dropped split makes several)
                    nslot[0] += 1
            continue
        if k in reads:
            lines.append("        if %s.tolist() != %s: raise GuardFailed" % (
                expr(_Ref(reads[k][0])), const(check.tolist())))
            continue
        f = "f%d" % k
        ns[f] = func
        args = [expr(a) for a in aspec] + ["%s=%s" % (n, expr(v)) for n, v in (kspec or {}).items()]
        call = "%s(%s)" % (f, ", ".join(args))
        name = getattr(func, "__name__", "")
        safe = name in _SHAPE_SAFE
        if kind == 1:
            if type(check) is bool:
                lines.append("        if %s is not %r: raise GuardFailed" % (call, check))
            elif check is None:
                lines.append("        %s" % call)
            else:
                lines.append("        if not _same(%s, %s): raise GuardFailed" % (call, const(check)))
        elif type(check) is tuple:
            ref, shape = check
            if ref.i in folded:
                if ref.i == nslot[0]:
                    nslot[0] += 1
            elif ref.i == nslot[0]:
                nslot[0] += 1
                lines.append("        t%d = %s" % (ref.i, call))
                if not safe:
                    lines.append("        if t%d.shape != %s: raise GuardFailed" % (ref.i, const(torch.Size(shape))))
            else:
                lines.append("        if %s is not t%d: raise GuardFailed" % (call, ref.i))
        else:
            names = []
            for ref, shape in check:
                if ref.i != nslot[0]:
                    raise ValueError("a tuple result holding an earlier tensor")
                nslot[0] += 1
                names.append("t%d" % ref.i)
            lines.append("        %s, = %s" % (", ".join(names), call))
            if not safe:
                for (ref, shape) in check:
                    lines.append("        if t%d.shape != %s: raise GuardFailed" % (ref.i, const(torch.Size(shape))))
    lines.append("        return %s" % expr(trace.outputs))
    lines.append("    finally:")
    lines.append("        _set_grad(_g)")
    exec(compile("\n".join(lines), "<geonodes replay>", "exec"), ns)
    return ns["replay"]


def replay(trace: Trace, inputs: dict):
    """The recorded evaluation's result for new inputs, or GuardFailed."""
    if trace.fn is None:
        trace.fn = compile_trace(trace)
    return trace.fn(inputs)


class Replays:
    """A program's recorded evaluations, by signature: the caller's key (fixing every input's
    dtype, shape, strides and requires_grad), integer values, the grad mode. A signature's
    first evaluation runs in full (filling the evaluator's caches, so recordings hold only
    per-evaluation work), the next is recorded, later ones replay. A replay whose guards fail
    evaluates in full and records the new path (a few paths are kept per signature) while
    replays pay: where paths keep changing (a float deciding a Switch), it only tries and
    records now and then, so such a stream costs little more than full evaluations."""

    def __init__(self, paths: int = 3, signatures: int = 64):
        self.paths, self.signatures = paths, signatures
        self._traces: dict = {}  # signature -> [Trace], most recently used first
        self._seen: set = set()
        self._refused: set = set()  # signatures whose recording was refused (see record)
        self.replayed = self.missed = self.recorded = 0  # counts (tests, benchmarks)
        self._credit = 0  # replays since the last recording, less the misses

    def seen(self, key: tuple, discrete: tuple = ()) -> bool:
        """Whether `evaluate` has met this signature (and its recording was not refused)."""
        sig = key + discrete + (torch.is_grad_enabled(),)
        return (sig in self._traces or sig in self._seen) and sig not in self._refused

    def see(self, key: tuple, discrete: tuple = ()) -> None:
        """Count the signature as met (evaluated in full by the caller): its next `evaluate` records."""
        if len(self._seen) >= 4 * self.signatures:
            self._seen.clear()
            self._refused.clear()
        self._seen.add(key + discrete + (torch.is_grad_enabled(),))

    def evaluate(self, run, inputs: dict, key: tuple | None = None, discrete: tuple = ()):
        """run() or its replay; `key` and `discrete` (say the values of integer inputs, which
        decide most paths) pick the recordings to try. A `key` must determine every input's
        dtype, shape, strides and requires_grad (the caller knows them cheaper); without one,
        they are read."""
        if key is None:
            key = tuple((t.dtype, t.shape, t.stride(), t.requires_grad) for t in inputs.values())
        sig = key + discrete + (torch.is_grad_enabled(),)
        traces = self._traces.get(sig)
        if traces and self._credit <= -8 and self.missed % 16:  # replays keep failing: try now and then
            self.missed += 1
            return run()
        if traces:
            for i, trace in enumerate(traces):
                try:
                    out = replay(trace, inputs)
                except Exception:  # GuardFailed, or an op refusing other values: the full path decides
                    continue
                if i:
                    traces.insert(0, traces.pop(i))
                self.replayed += 1
                self._credit = min(self._credit + 1, 8)
                return out
            self.missed += 1
            self._credit = max(self._credit - 1, -8)
            if self._credit < -2 and self.missed % 16:
                return run()
        elif sig not in self._seen or sig in self._refused:
            if len(self._seen) >= 4 * self.signatures:
                self._seen.clear()
                self._refused.clear()
            self._seen.add(sig)
            return run()
        result, trace = record(run, inputs)
        if trace is None:
            self._refused.add(sig)  # this path cannot be replayed: evaluate it in full from now on
        else:
            self.recorded += 1
            if traces is None:
                while len(self._traces) >= self.signatures:
                    self._traces.pop(next(iter(self._traces)))
                traces = self._traces[sig] = []
            traces.insert(0, trace)
            del traces[self.paths:]
        return result
