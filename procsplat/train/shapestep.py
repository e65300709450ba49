"""The objects' meshes during training, and when the shapes take their optimiser step.

Evaluating every program, its shape evidence (`geometry.ShapeEvidence`) and both backward passes on
every step cost a procedural model about as much again as its render (demo scenes, CPU). A
`ShapeSchedule` evaluates each object's world mesh, and what the anchored Gaussians read of it (their
faces' corners and frames: `AnchoredGaussians.face_frames`), once per shape cycle of `every` steps,
with their autograd graph, and hands the steps detached copies (leaf tensors). The render's
gradient w.r.t. those accumulates over the cycle; on the cycle's last step (`(step + 1) %
every == 0`) their mean, plus the evidence's own gradient, goes back through the programs once and
the shapes and poses take their optimiser step. Shapes do not change within a cycle, so that is
exactly the gradient of the cycle's mean loss (photometric terms + geometry_weight x evidence) over
its frames, each rendered with the Gaussians as they were at its step: for the shapes, a batch of
`every` frames. Gaussians step every step. every = 1 is the plain joint step.

How often (`TrainConfig.shape_every`, 2): shape MAE after 200 joint steps on the bench scenes
(scripts/bench_splat.py, seeds 7, 8, 9, from 2.6, 2.3, 2.6 cm) 0.51, 0.56, 0.36 cm with every = 1 (mean
0.48), 0.50, 0.44, 0.58 with 2 (0.51), 0.54, 0.60, 0.77 with 4 (0.64); held-out PSNR the same within
0.1 dB. With 4, a 60-step run gives the shapes 15 Adam steps (each about its learning rate long): too few
to bring a translation 3 cm off back within 1.2 cm (tests/test_joint_geometry.py); 4x the learning rate
instead made the shapes worse (MAE 1.22 cm after 100 steps, against 0.65).

Once the shapes have settled (`TrainConfig.shape_settle_at` of the run, and at least
`shape_settle_min` shape steps at `every`), the cycle is `settled_every` (32) steps long: one program
evaluation, evidence and backward pass per 32 steps, on a batch of 32 frames. 32 instead of 16 (session 8,
quiet, load 1.0-1.1, the two runs one after the other): `scripts/bench_splat.py` (3 seeds, 200 steps) `summary:
heldout_delta_db=2.31 novel_delta_db=3.14 edit_drop_db=0.61 joint_mae_delta_cm=-1.97 object_gaussian_ratio=0.49`
against 2.28 3.14 0.59 -1.96 0.49, and `scripts/bench_step.py --trained-free` (CPU time) 1.18x a fresh free
model's step against 1.22x, 1.06x the trained budget-1x one's against 1.11x. 16 instead of 8 (session 7,
`scripts/bench_splat.py`, 3 seeds, 200 steps, both under load 11-18): `summary: heldout_delta_db=1.58
novel_delta_db=2.74 edit_drop_db=0.53 joint_mae_delta_cm=-1.96 object_gaussian_ratio=0.49` against 1.62 2.76 0.54
-1.95 0.49 (shape MAE after training 0.34, 0.46, 0.75 cm against 0.38, 0.47, 0.75; object held-out PSNR
23.72 against 23.76 dB), and `scripts/bench_step.py --trained-free` (CPU time, same period, with the
fused Adam of `trainer.adam`) 1.27x a fresh free model's step against 1.32x, 1.15x the trained budget-1x
one's against 1.19x. With 8 (session 5), on the bench
(`scripts/bench_splat.py`, 3 seeds, 200 steps, settled from step 120; its timing averages over whole
cycles: `period`) a step of the procedural model went from 1.58x to 1.38x a free model's of the same
count (both loaded), shape MAE after training 0.53 -> 0.56 cm (seed 9 was still converging). Shape MAE
after 200 steps, seeds 7, 8, 9, settled from step 96: 0.505, 0.462, 0.617 cm never settled; -, 0.491,
0.696 settled. `evidence_every` > 1 evaluates the evidence on every n-th shape step only, the steps
between applying the last evaluation's gradient w.r.t. the world vertices to their own mesh (the term
depends on the shapes through those alone): with 2 seeds 7 and 8 ended at 0.474 and 0.526 cm, so it
is off (1) by default.

The cache is keyed on the objects' parameter values, so anything that changes a shape outside the
optimiser (an edit, a resume, `set_parameters`) starts a new cycle (its accumulated vertex gradient,
which belongs to the old mesh, is dropped). Frozen shapes (no `learnable`) evaluate their meshes
once, without a graph, and again only when an edit changes them.
"""
from __future__ import annotations

import torch

from procsplat.errors import ProcsplatError


def shape_key(model) -> tuple:
    """The values that determine the anchored Gaussians' face frames: each object's shape and pose, and
    the faces its Gaussians sit on."""
    out = []
    for obj, a in zip(model.objects, model.anchored):
        out.append((tuple(obj.floats.detach().cpu().tolist()), float(obj.yaw.detach()),
                    tuple(obj.translation.detach().cpu().tolist()), float(obj.log_scale.detach()),
                    tuple(sorted((k, repr(v)) for k, v in obj.fixed.items())),
                    a.face.data_ptr(), int(a.face.numel()), int(a.face.sum())))
    return tuple(out)


class ShapeSchedule:
    """`frames(model)` at the start of a step, `after_backward(step)` after its backward pass."""

    def __init__(self, every: int = 1, learnable: bool = True, evidence=None, weight: float = 0.0,
                 settled_every: int | None = None, settle_step: int | None = None, evidence_every: int = 1):
        for name, v in (("--shape-every", every), ("--shape-every-settled", settled_every),
                        ("--evidence-every", evidence_every)):
            if v is not None and int(v) < 1:
                raise ProcsplatError(f"{name} must be at least 1, got {v!r}")
        self.every, self.learnable = int(every), bool(learnable)
        self.settled_every = self.every if settled_every is None else int(settled_every)
        self.settle_step = None if settle_step is None else int(settle_step)
        self.evidence_every = int(evidence_every)
        self.evidence = evidence if learnable and evidence is not None and len(evidence) else None
        self.weight = float(weight)
        self._key = None
        self._graph: list = []  # per anchored set its face frames (with their graph)
        self._leaves: list = []  # the same detached: what the steps differentiate
        self._verts: list = []  # per object its world vertices (with their graph), for the evidence's gradient
        self._evidence_grad: dict = {}  # object index -> d(weight x evidence)/d(world vertices) at the last evaluation
        self._evidence_value = 0.0  # weight x the evidence at its last evaluation
        self._since_evidence = 0  # shape steps since the evidence was last evaluated
        self._stepped = False  # the last new cycle was started by this schedule's own shape step
        self.pending = 0  # steps whose vertex gradient has accumulated since the cycle began
        self.shape_steps = 0  # shape optimiser steps taken (by this schedule)
        self.evidence_evaluations = 0  # evaluations of the evidence (forward and gradient)

    def cycle(self, step: int) -> int:
        """The length of the shape cycle that step (0-based) belongs to: `every`, and `settled_every`
        from `settle_step` on."""
        settled = self.settle_step is not None and step >= self.settle_step
        return self.settled_every if settled else self.every

    def period(self, step: int) -> int:
        """Steps from `step` on that hold whole shape cycles and whole evidence periods (a benchmark
        timing steps averages over multiples of this)."""
        return self.cycle(step) * (self.evidence_every if self.evidence is not None else 1)

    def invalidate(self) -> None:
        """Forget the cycle's meshes (the next step starts a new cycle)."""
        self._key = None
        self._graph, self._leaves, self._verts, self.pending = [], [], [], 0

    def frames(self, model) -> list:
        """Each anchored set's `face_frames` for this step (`SceneModel.gaussians(frames=...)`): the
        cycle's, as tensors that collect the step's gradient when shapes are learnable."""
        key = shape_key(model)
        if key != self._key or len(self._leaves) != len(model.anchored):
            own_step = self._stepped
            self.invalidate()
            self._stepped = False
            with torch.set_grad_enabled(self.learnable):
                meshes = model.meshes()
                self._graph = [a.face_frames(m) for a, m in zip(model.anchored, meshes)]
            if self.evidence is not None and self.weight > 0:
                self._verts = [m[0] for m in meshes]
                stale = not own_step or self._since_evidence >= self.evidence_every or any(
                    self._evidence_grad.get(k) is None or self._evidence_grad[k].shape != self._verts[k].shape
                    for k in self.evidence.losses)
                if stale:
                    self._evaluate_evidence(model, meshes)
            self._leaves = [tuple(x.detach().requires_grad_(self.learnable) for x in f) for f in self._graph]
            self._key = key
        return self._leaves

    def _evaluate_evidence(self, model, meshes: list) -> None:
        """weight x the evidence on the cycle's meshes and its gradient w.r.t. each object's world
        vertices (the term depends on the shapes and poses through those alone)."""
        leaves = [v.detach().requires_grad_(True) for v, _, _ in meshes]
        with torch.enable_grad():
            value = self.weight * self.evidence.loss(model, [(v, t, p) for v, (_, t, p) in zip(leaves, meshes)])
            ks = [k for k in self.evidence.losses]
            grads = torch.autograd.grad(value, [leaves[k] for k in ks], allow_unused=True) \
                if value.requires_grad else [None] * len(ks)
        self._evidence_grad = {k: (torch.zeros_like(leaves[k]) if g is None else g) for k, g in zip(ks, grads)}
        self._evidence_value = float(value.detach())
        self._since_evidence = 0
        self.evidence_evaluations += 1

    def evidence_value(self) -> float:
        """weight x the shape evidence at its last evaluation (0 without evidence)."""
        return self._evidence_value if self.evidence is not None and self.weight > 0 else 0.0

    def is_shape_step(self, step: int) -> bool:
        """Whether step (0-based) ends a cycle: its shape optimiser step is taken."""
        return self.learnable and (step + 1) % self.cycle(step) == 0

    def after_backward(self, step: int) -> bool:
        """Count the step's vertex gradient; on a shape step, send the cycle's mean vertex gradient
        and the evidence's gradient through the programs (into the shapes' and poses' .grad) and start
        a new cycle. Returns whether this was a shape step."""
        if not self.learnable or not self._leaves:
            return False
        self.pending += 1
        if not self.is_shape_step(step):
            return False
        outputs, grads = [], []
        for graph, leaves in zip(self._graph, self._leaves):
            for x, leaf in zip(graph, leaves):
                if leaf.grad is not None and x.requires_grad:
                    outputs.append(x)
                    grads.append(leaf.grad / self.pending)
        for k, verts in enumerate(self._verts):  # the evidence's gradient (of its last evaluation)
            g = self._evidence_grad.get(k)
            if g is not None and verts.requires_grad and g.shape == verts.shape:
                outputs.append(verts)
                grads.append(g.to(verts.device, verts.dtype))
        if outputs:
            torch.autograd.backward(outputs, grads)
        self._since_evidence += 1
        self.shape_steps += 1
        self.invalidate()  # the optimiser step that follows moves the shapes: a new cycle
        self._stepped = True
        return True
