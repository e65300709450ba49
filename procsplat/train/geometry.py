"""Geometric evidence for joint training: each procedural object's fitting loss on its current mesh.

Photometric gradients alone move shapes wherever the splats look better, and on the demo they did
so at the geometry's expense (the bookshelf's boards went to their thinnest, its depth 3 cm
short). `ShapeEvidence` weighs them against the observed depth: for every procedural object with
enough observed points, an `ObjectTarget` from the training frames' depth and instance masks
(the held-out frames stay unseen), scored by the fit's own losses (`procsplat.fit.losses`:
coverage, free space, accuracy, support) on the object's current world mesh. The term is
differentiable in the object's float parameters, yaw and translation, so the optimiser keeps
the shape where the depth puts it and moves it there when the fit is off.
"""
from __future__ import annotations

import numpy as np
import torch

from procsplat.errors import ProcsplatError
from procsplat.fit.losses import CandidateLosses, LossConfig
from procsplat.fit.scene import MIN_MASK_PIXELS
from procsplat.fit.target import ObjectTarget, TargetConfig, TooFewPointsError


def object_target(scene, instance_id: int, frame_ids, max_views: int = 24,
                  config: TargetConfig = TargetConfig()) -> ObjectTarget:
    """The object's ObjectTarget from those of `frame_ids` that see it (most mask pixels first, at
    most `max_views`). Raises TooFewPointsError when it is not seen enough."""
    counts = []
    for i in frame_ids:
        n = int((scene.instance_mask(i) == instance_id).sum())
        if n >= MIN_MASK_PIXELS:
            counts.append((n, i))
    chosen = sorted(i for _, i in sorted(counts, reverse=True)[:max_views])
    if not chosen:
        raise TooFewPointsError(f"object {instance_id}: not visible in any training frame")
    K = np.asarray(scene.frames.K, np.float64)
    return ObjectTarget.from_frames([np.array(scene.frames[i].depth, np.float32) for i in chosen],  # writable copies
                                    [K] * len(chosen), [np.asarray(scene.frames.poses[i], np.float64) for i in chosen],
                                    [scene.instance_mask(i) == instance_id for i in chosen],
                                    floor_height=scene.floor_height, config=config, label=str(instance_id))


class ShapeEvidence:
    """The fitting loss of each procedural object that has a target, summed (`loss(model)`).

    Coverage's nearest-triangle search (the bounds of every observed point against every triangle:
    about 60 % of the term's time on the bench scenes) runs on every `refresh`-th evaluation of an
    object; the evaluations in between take the nearest of the `LossConfig.reuse_proposals` triangles
    it proposed (`point_to_mesh_distance`'s reuse, as the fit's refinement does: `RefineConfig.
    proposal_refresh`). Training moves a shape by about its learning rate per shape step (mm), so the
    reused triangles hold the nearest one; where one does not, the distance is an upper bound. A
    changed topology (a discrete edit) searches afresh. refresh = 1: every evaluation searches."""

    def __init__(self, scene, frame_ids, model, loss_config: LossConfig = LossConfig(), log=print,
                 refresh: int = 4):
        if int(refresh) < 1:
            raise ProcsplatError(f"ShapeEvidence: refresh must be at least 1, got {refresh!r}")
        self.refresh = int(refresh)
        self._proposals: dict = {}  # object index -> (triangles, proposals, evaluations since the search)
        self.searches = 0  # nearest-triangle searches run (all objects)
        self.losses: dict = {}  # index into model.objects -> CandidateLosses
        skipped = []
        if scene.masks is not None:
            for k, obj in enumerate(model.objects):
                try:
                    self.losses[k] = CandidateLosses(object_target(scene, obj.instance_id, frame_ids), loss_config)
                except TooFewPointsError as e:
                    skipped.append(str(e))
        why = " (the scene has no instance masks)" if scene.masks is None else \
            "".join(f"; {s}" for s in skipped)
        log(f"shape evidence: {len(self.losses)} of {len(model.objects)} objects held to their observed depth{why}")

    def __len__(self) -> int:
        return len(self.losses)

    def terms(self, model, meshes: list | None = None) -> dict:
        """{object index: dict of the fit's loss terms (0-d tensors)} on the objects' current meshes
        (`meshes`: the model's `meshes()` when the caller has them already)."""
        out = {}
        for k, losses in self.losses.items():
            obj = model.objects[k]
            verts, tri, _ = obj.mesh() if meshes is None else meshes[k]
            # the targets live on the CPU (a model on a GPU sends its vertices over, differentiably)
            tri = tri.cpu()
            cached = self._proposals.get(k)
            if cached is not None and cached[2] < self.refresh and torch.equal(cached[0], tri):
                t = losses.terms(verts[None].cpu(), tri, obj.yaw.reshape(1).cpu(), proposals=cached[1])
                self._proposals[k] = (cached[0], cached[1], cached[2] + 1)
            else:
                t = losses.terms(verts[None].cpu(), tri, obj.yaw.reshape(1).cpu(),
                                 propose=losses.config.reuse_proposals)
                self._proposals[k] = (tri, t.pop("proposals"), 1)
                self.searches += 1
            out[k] = {name: v[0] for name, v in t.items()}
        return out

    def loss(self, model, meshes: list | None = None) -> torch.Tensor:
        terms = self.terms(model, meshes)
        return sum((t["total"] for t in terms.values()), torch.zeros((), dtype=torch.float64))
