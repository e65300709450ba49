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

    def __init__(self, every: int = 1, learnable: bool = True, evidence=None, weight: float = 0.0):
        if int(every) < 1:
            raise ProcsplatError(f"--shape-every must be at least 1, got {every!r}")
        self.every, self.learnable = int(every), bool(learnable)
        self.evidence = evidence if learnable and evidence is not None and len(evidence) else None
        self.weight = float(weight)
        self._key = None
        self._graph: list = []  # per anchored set its face frames (with their graph)
        self._leaves: list = []  # the same detached: what the steps differentiate
        self._evidence = None  # weight x the evidence on the cycle's mesh (with its graph), or None
        self.pending = 0  # steps whose vertex gradient has accumulated since the cycle began
        self.shape_steps = 0  # shape optimiser steps taken (by this schedule)

    def invalidate(self) -> None:
        """Forget the cycle's meshes (the next step starts a new cycle)."""
        self._key = None
        self._graph, self._leaves, self._evidence, self.pending = [], [], None, 0

    def frames(self, model) -> list:
        """Each anchored set's `face_frames` for this step (`SceneModel.gaussians(frames=...)`): the
        cycle's, as tensors that collect the step's gradient when shapes are learnable."""
        key = shape_key(model)
        if key != self._key or len(self._leaves) != len(model.anchored):
            self.invalidate()
            with torch.set_grad_enabled(self.learnable):
                meshes = model.meshes()
                self._graph = [a.face_frames(m) for a, m in zip(model.anchored, meshes)]
                if self.evidence is not None and self.weight > 0:
                    self._evidence = self.weight * self.evidence.loss(model, meshes)
            self._leaves = [tuple(x.detach().requires_grad_(self.learnable) for x in f) for f in self._graph]
            self._key = key
        return self._leaves

    def evidence_value(self) -> float:
        """weight x the shape evidence of the current meshes (0 without evidence)."""
        return 0.0 if self._evidence is None else float(self._evidence.detach())

    def is_shape_step(self, step: int) -> bool:
        """Whether step (0-based) ends a cycle: its shape optimiser step is taken."""
        return self.learnable and (step + 1) % self.every == 0

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
        if self._evidence is not None and self._evidence.requires_grad:
            outputs.append(self._evidence)
            grads.append(torch.ones_like(self._evidence))
        if outputs:
            torch.autograd.backward(outputs, grads)
        self.shape_steps += 1
        self.invalidate()  # the optimiser step that follows moves the shapes: a new cycle
        return True
