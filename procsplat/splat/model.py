"""Procedural Gaussian splats: Gaussians anchored on program surfaces + free background Gaussians.

An anchored Gaussian lives in the frame of one triangle of its object's mesh: barycentric
position (softmax of 3 logits), an offset along the face normal, an in-plane rotation angle and
in-plane / normal log-scales. Its colour is scaled by its object's shading gain, a learned function of
|cos| between the view ray and its face normal shared by all of the object's Gaussians: a face the
training views only saw at grazing angles (a table top from eye height) is then shaded as the faces
seen head-on teach, from a new view (free Gaussians have no normal to do this with). Its world pose is recomputed from the mesh every time, so when a
shape parameter or the object's pose changes (by optimisation or by a user's edit), the splats
follow the surface. Shape parameters (continuous ones) and the pose are learnable tensors too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from procsplat.geometry import object_to_world

SH_C0 = 0.28209479177387814
SHADING_KNOTS = 5
"""Knots of an object's shading gain (log gain, piecewise linear in |cos| at 0, 1/4, ..., 1)."""
ANCHORED_FIELDS = ("bary_logits", "offset", "angle", "log_scales_plane", "log_scale_normal", "opacity_logits", "sh0",
                   "shN")
"""An AnchoredGaussians' per-Gaussian parameters (besides its `face` buffer), in one order everywhere."""


def rgb_to_sh0(rgb: torch.Tensor) -> torch.Tensor:
    return (rgb - 0.5) / SH_C0


def uniform_bary_logits(n: int, gen: torch.Generator) -> torch.Tensor:
    """(n,3) barycentric logits of points uniform over their triangles (softmax(log w) = w): small random
    logits would bunch Gaussians around the centroids and leave the corners bare."""
    r = torch.rand(n, 2, generator=gen, dtype=torch.float64)
    s = r[:, 0].sqrt()
    return torch.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], dim=1).clamp(min=1e-3).log()


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """(N,3,3) rotation matrices -> (N,4) unit quaternions wxyz with w >= 0 (Shepperd: each row uses the
    largest of 4w^2, 4x^2, 4y^2, 4z^2, so half turns -- the frames of downward faces -- come out right)."""
    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    d = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    s = 2 * torch.sqrt(d.clamp(min=1e-12))  # 4 |w|, 4 |x|, 4 |y|, 4 |z|
    a, b, c = m21 - m12, m02 - m20, m10 - m01
    e, f, g = m01 + m10, m02 + m20, m12 + m21
    cand = torch.stack([torch.stack([s[:, 0] / 4, a / s[:, 0], b / s[:, 0], c / s[:, 0]], -1),
                        torch.stack([a / s[:, 1], s[:, 1] / 4, e / s[:, 1], f / s[:, 1]], -1),
                        torch.stack([b / s[:, 2], e / s[:, 2], s[:, 2] / 4, g / s[:, 2]], -1),
                        torch.stack([c / s[:, 3], f / s[:, 3], g / s[:, 3], s[:, 3] / 4], -1)], 1)
    q = cand[torch.arange(m.shape[0]), d.argmax(-1)]
    q = torch.where(q[:, :1] < 0, -q, q)
    return q / q.norm(dim=-1, keepdim=True)




class ProceduralObject(nn.Module):
    """One fitted program instance: fixed discrete parameters, learnable continuous ones + pose."""

    def __init__(self, program, parameters: dict, yaw: float, translation, scale: float = 1.0,
                 instance_id: int = 0, category: str = ""):
        super().__init__()
        self.program = program
        self.instance_id, self.category = instance_id, category
        self.fixed = {p.name: parameters.get(p.name, p.default) for p in program.parameters if p.kind != "float"}
        self.float_names = [p.name for p in program.parameters if p.kind == "float"]
        lo = torch.tensor([p.min for p in program.parameters if p.kind == "float"], dtype=torch.float64)
        hi = torch.tensor([p.max for p in program.parameters if p.kind == "float"], dtype=torch.float64)
        x = torch.tensor([float(parameters.get(n, program.parameter(n).default)) for n in self.float_names],
                         dtype=torch.float64)
        self.register_buffer("lo", lo)
        self.register_buffer("hi", hi)
        self.floats = nn.Parameter(x.clone())
        self.yaw = nn.Parameter(torch.tensor(float(yaw), dtype=torch.float64))
        self.translation = nn.Parameter(torch.as_tensor(translation, dtype=torch.float64).clone())
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale), dtype=torch.float64))

    def parameters_dict(self) -> dict:
        values = dict(self.fixed)
        for name, v in zip(self.float_names, self.clamped_floats().detach().tolist()):
            values[name] = v
        return values

    def clamped_floats(self) -> torch.Tensor:
        # A straight-through clamp: the value stays in range, gradients still flow. Written clamp + (x - x),
        # not x + (clamp - x): that one's value can miss the range's end by an ulp (then refused by an edit).
        x = self.floats
        return torch.minimum(torch.maximum(x, self.lo), self.hi).detach() + (x - x.detach())

    def set_parameters(self, values: dict) -> None:
        """Set values (pose unchanged). Discrete values are set as given: the object's anchored Gaussians
        sit on the old topology until `procsplat.splat.reanchor.reanchor` rebuilds them (`edit_object`)."""
        with torch.no_grad():
            for i, name in enumerate(self.float_names):
                if name in values:
                    self.floats[i] = float(values[name])
        for name in self.fixed:
            if name in values and values[name] != self.fixed[name]:
                self.fixed[name] = values[name]

    def world_mesh(self):
        """The object's geonodes Mesh (polygons, triangles, parts) with world-space float64 vertices."""
        values = dict(self.fixed)
        xs = self.clamped_floats()
        for i, name in enumerate(self.float_names):
            values[name] = xs[i]
        m = self.program.evaluate_one(values, dtype=torch.float64)
        return replace(m, vertices=object_to_world(m.vertices, self.yaw, self.translation, torch.exp(self.log_scale)))

    def mesh(self):
        """World-space (vertices (V,3) float64, triangles (T,3), part id (T,))."""
        m = self.world_mesh()
        return m.vertices, m.triangles, m.part_id

    def pose_dict(self) -> dict:
        return {"yaw": float(self.yaw.detach()), "translation": self.translation.detach().tolist(),
                "scale": float(torch.exp(self.log_scale.detach()))}


@dataclass
class GaussianSet:
    """World-space Gaussians, the rasteriser's inputs (gsplat's `splats` conventions)."""

    means: torch.Tensor  # (N,3)
    quats: torch.Tensor  # (N,4) wxyz
    log_scales: torch.Tensor  # (N,3)
    opacity_logits: torch.Tensor  # (N,)
    sh0: torch.Tensor  # (N,1,3)
    shN: torch.Tensor  # (N,K-1,3)

    @staticmethod
    def cat(sets: list) -> "GaussianSet":
        return GaussianSet(*[torch.cat([getattr(s, f) for s in sets]) for f in
                             ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")])

    def __len__(self) -> int:
        return self.means.shape[0]



def triangle_areas(v: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Each triangle's area, (T,), from vertices (V, 3) and triangles (T, 3)."""
    return 0.5 * torch.linalg.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]).norm(dim=1)


def knot_position(cos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(knot index i, fraction f) of |cos| in [0, 1] among the SHADING_KNOTS evenly spaced shading
    knots: the gain is exp(knots[i] (1 - f) + knots[i + 1] f)."""
    x = cos.clamp(0, 1) * (SHADING_KNOTS - 1)
    i = x.detach().floor().long().clamp(max=SHADING_KNOTS - 2)
    return i, x - i


class AnchoredGaussians(nn.Module):
    """Gaussians attached to the triangles of one ProceduralObject."""

    def __init__(self, obj: ProceduralObject, per_area: float = 4000.0, max_count: int = 6000,
                 min_per_face: int = 1, sh_degree: int = 1, seed: int = 0, init_rgb=None,
                 count: int | None = None, face_weights: torch.Tensor | None = None):
        super().__init__()
        self.obj = obj
        with torch.no_grad():
            v, t, _ = obj.mesh()
            area = triangle_areas(v, t)
        gen = torch.Generator().manual_seed(seed)
        total = int(min(max_count, max(len(t) * min_per_face, float(area.sum()) * per_area)))
        if count is not None:  # rebuilding a saved model: its exact size
            total = int(count)
            min_per_face = min(min_per_face, total // max(len(t), 1))
        # Faces drawn proportionally to area (or to `face_weights`: `procsplat.splat.detail`), every face at
        # least once (so none is bare).
        extra = max(total - len(t) * min_per_face, 0)
        weights = area if face_weights is None else face_weights.to(area.dtype)
        drawn = torch.multinomial(weights / weights.sum(), extra, replacement=True, generator=gen) if extra else \
            torch.zeros(0, dtype=torch.long)
        face = torch.cat([torch.arange(len(t)).repeat(min_per_face), drawn])[:total]
        n = face.shape[0]
        self.register_buffer("face", face)
        self.bary_logits = nn.Parameter(uniform_bary_logits(n, gen))
        self.offset = nn.Parameter(torch.zeros(n, dtype=torch.float64))
        self.angle = nn.Parameter(torch.rand(n, generator=gen, dtype=torch.float64) * math.pi)
        # In-plane size from the area each Gaussian of its own face covers (large faces, drawn often,
        # get small Gaussians; the mean count per face would make theirs too large and slow to render).
        per_face = torch.bincount(face, minlength=len(t)).clamp(min=1).to(area.dtype)
        side = torch.sqrt(area[face] / per_face[face] / 2).clamp(min=2e-3, max=0.2)
        self.log_scales_plane = nn.Parameter(torch.log(side)[:, None].repeat(1, 2))
        self.log_scale_normal = nn.Parameter(torch.full((n,), math.log(2e-3), dtype=torch.float64))
        self.opacity_logits = nn.Parameter(torch.full((n,), 2.0, dtype=torch.float64))
        rgb = torch.full((n, 3), 0.5, dtype=torch.float64) if init_rgb is None else init_rgb(self)
        self.sh0 = nn.Parameter(rgb_to_sh0(rgb)[:, None, :])
        self.shN = nn.Parameter(torch.zeros(n, (sh_degree + 1) ** 2 - 1, 3, dtype=torch.float64))
        self.shading = nn.Parameter(torch.zeros(SHADING_KNOTS, dtype=torch.float64))

    def gain(self, cos: torch.Tensor) -> torch.Tensor:
        """The object's shading gain at |cos| (view ray vs face normal) in [0, 1]: exp of the knots
        interpolated linearly (1 everywhere at the start)."""
        i, f = knot_position(cos)
        return torch.exp(self.shading[i] * (1 - f) + self.shading[i + 1] * f)

    def prune(self, keep: torch.Tensor) -> None:
        """Keep a subset (e.g. the ones seen by some training view); the optimiser is built after."""
        self.face = self.face[keep].clone()
        for name in ANCHORED_FIELDS:
            setattr(self, name, nn.Parameter(getattr(self, name).detach()[keep].clone()))

    def face_frames(self, mesh=None) -> tuple:
        """Per Gaussian, its face's frame: corners (n,3,3), unit normal (n,3) and the quaternion (n,4) of
        the rotation whose columns are the unit first edge, normal x edge and the normal. What `world`
        reads of the mesh (a training step reuses them while the mesh stays: `procsplat.train.shapestep`)."""
        v, t, _ = self.obj.mesh() if mesh is None else mesh
        corners = v[t[self.face]]  # (n,3 corners,3)
        a, b, c = corners.unbind(1)
        e1 = b - a
        normal = torch.linalg.cross(e1, c - a)
        normal = normal / normal.norm(dim=1, keepdim=True).clamp(min=1e-12)
        e1 = e1 / e1.norm(dim=1, keepdim=True).clamp(min=1e-12)
        e2 = torch.linalg.cross(normal, e1)
        return corners, normal, matrix_to_quat(torch.stack([e1, e2, normal], dim=2))

    def world(self, mesh=None, frames: tuple | None = None, eye: torch.Tensor | None = None) -> GaussianSet:
        """World-space Gaussians on the object's current mesh (or on `mesh`, or on `face_frames` already
        taken of it): the in-plane angle turns the face's frame about its normal; colours shaded for a
        camera at `eye` (3,), or as seen head-on (None). One `anchored_world` of this set alone."""
        return anchored_world([self], [self.face_frames(mesh) if frames is None else frames], eye)

    def surface_points(self, mesh=None) -> torch.Tensor:
        """Where each Gaussian would sit with zero offset (for the stay-on-face regulariser)."""
        return self.world(mesh).means


_ANCHOR_PARAMS = ("bary_logits", "offset", "angle", "log_scales_plane", "log_scale_normal", "sh0", "shN", "shading")
_ANCHOR_INPUTS = len(_ANCHOR_PARAMS) + 3  # and the face frames' corners, normal, quaternion


def anchored_world(sets: list, frames: list, eye: torch.Tensor | None = None) -> GaussianSet:
    """The world-space Gaussians of several AnchoredGaussians (one block, in their order) on their
    `face_frames`, shaded for a camera at `eye` or head-on (None): one `_AnchoredWorld` for all of them
    (a training step's anchoring and concatenation, bench seed 7's 2 objects: ~0.9x the per-set autograd
    formulas' CPU time)."""
    counts = tuple(int(a.face.shape[0]) for a in sets)
    inputs = [x for a, f in zip(sets, frames) for x in (*(getattr(a, n) for n in _ANCHOR_PARAMS), *f)]
    means, q, log_scales, sh0, shn = _AnchoredWorld.apply(eye, counts, *inputs)
    opacity = sets[0].opacity_logits if len(sets) == 1 else torch.cat([a.opacity_logits for a in sets])
    return GaussianSet(means, q, log_scales, opacity, sh0, shn)


class _AnchoredWorld(torch.autograd.Function):
    """Anchored Gaussians to world space with a hand-written backward. Inputs: `eye` (3,) or None,
    the sets' Gaussian counts, then per set its `_ANCHOR_PARAMS` and face frames (corners (n,3,3),
    unit normal (n,3), quaternion (n,4)). Per Gaussian: mean = softmax(bary logits) . corners +
    offset x normal; quaternion = the face's times the in-plane angle's about local z (w >= 0);
    log-scales (plane, plane, normal); SH times its object's shading gain at |cos| between the view
    ray and the normal (rasteriser colour SH + 0.5 scaled: sh0 -> (g (C0 sh0 + .5) - .5) / C0, shN -> g
    shN). The gain's |cos| is not differentiated (as `AnchoredGaussians.gain`'s callers detach it).
    Forward values are the same ops as the per-set autograd formulas (tests/test_anchored_world.py);
    gradients to every input, the frames included (a shape cycle's leaves)."""

    @staticmethod
    def forward(ctx, eye, counts, *inputs):
        k = len(counts)
        per = [inputs[j * _ANCHOR_INPUTS:(j + 1) * _ANCHOR_INPUTS] for j in range(k)]

        def cat(i):
            return per[0][i] if k == 1 else torch.cat([p[i] for p in per])

        bary, offset, angle, lsp, lsn, sh0, shn, corners, normal, qf = (cat(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9, 10))
        w = torch.softmax(bary, dim=1)
        means = (w[:, :1] * corners[:, 0] + w[:, 1:2] * corners[:, 1] + w[:, 2:] * corners[:, 2]
                 + offset[:, None] * normal)
        half = 0.5 * angle
        ch, sh = torch.cos(half), torch.sin(half)
        qw, qx, qy, qz = qf.unbind(1)  # the face's quaternion times the angle's about local z
        q = torch.stack([qw * ch - qz * sh, qx * ch + qy * sh, qy * ch - qx * sh, qz * ch + qw * sh], dim=1)
        flip = q[:, :1] < 0
        q = torch.where(flip, -q, q)
        log_scales = torch.cat([lsp, lsn[:, None]], dim=1)
        if eye is None:
            cos = torch.ones(means.shape[0], dtype=means.dtype, device=means.device)
        else:
            ray = means - eye.to(means.dtype)
            cos = (ray * normal).sum(1).abs() / ray.norm(dim=1).clamp(min=1e-12)
        i, f = knot_position(cos)
        knots = cat(7)  # each set's knots, one after the other: index i + SHADING_KNOTS x set
        idx = i if k == 1 else i + torch.cat([torch.full((n,), j * SHADING_KNOTS, dtype=i.dtype, device=i.device)
                                              for j, n in enumerate(counts)])
        g = torch.exp(knots[idx] * (1 - f) + knots[idx + 1] * f)
        g3 = g[:, None, None]
        sh0_out = (g3 * (SH_C0 * sh0 + 0.5) - 0.5) / SH_C0
        ctx.save_for_backward(w, corners, normal, offset, q, flip, ch, sh, g, f, idx, sh0, shn)
        ctx.counts, ctx.knots = counts, knots.shape[0]
        return means, q, log_scales, sh0_out, g3 * shn

    @staticmethod
    def backward(ctx, g_means, g_q, g_scales, g_sh0, g_shn):
        w, corners, normal, offset, q, flip, ch, sh, g, f, idx, sh0, shn = ctx.saved_tensors
        need = ctx.needs_input_grad[2:]
        wants = [any(need[j * _ANCHOR_INPUTS + i] for j in range(len(ctx.counts))) for i in range(_ANCHOR_INPUTS)]
        out: list = [None] * _ANCHOR_INPUTS
        if wants[0]:  # softmax's backward of d mean / d w
            dw = (corners * g_means[:, None, :]).sum(2)
            out[0] = w * (dw - (w * dw).sum(1, keepdim=True))
        if wants[1]:
            out[1] = (normal * g_means).sum(1)
        gq = torch.where(flip, -g_q, g_q)  # d/d the unflipped product
        if wants[2]:  # d q / d half = (-q3, q2, -q1, q0) of the unflipped product; the flips cancel
            g0, g1, g2, g3 = g_q.unbind(1)
            q0, q1, q2, q3 = q.unbind(1)
            out[2] = 0.5 * (q0 * g3 - q3 * g0 + q2 * g1 - q1 * g2)
        out[3], out[4] = g_scales[:, :2], g_scales[:, 2]
        g3 = g[:, None, None]
        out[5], out[6] = g3 * g_sh0, g3 * g_shn
        if wants[7]:
            dg = ((SH_C0 * sh0 + 0.5) * g_sh0).sum((1, 2)) / SH_C0 + (shn * g_shn).sum((1, 2))
            t = dg * g
            knots = t.new_zeros(ctx.knots).index_add_(0, idx, t * (1 - f)).index_add_(0, idx + 1, t * f)
        if wants[8]:
            out[8] = w[:, :, None] * g_means[:, None, :]
        if wants[9]:
            out[9] = offset[:, None] * g_means
        if wants[10]:
            a0, a1, a2, a3 = gq.unbind(1)
            out[10] = torch.stack([ch * a0 + sh * a3, ch * a1 - sh * a2, sh * a1 + ch * a2, ch * a3 - sh * a0], 1)
        split = [None if x is None else x.split(list(ctx.counts)) for x in out]
        if wants[7]:
            split[7] = knots.split(SHADING_KNOTS)
        grads = [split[i][j] if need[j * _ANCHOR_INPUTS + i] else None
                 for j in range(len(ctx.counts)) for i in range(_ANCHOR_INPUTS)]
        return None, None, *grads


class BackgroundGaussians(nn.Module):
    """Free Gaussians (gsplat's standard parametrisation)."""

    def __init__(self, points: torch.Tensor, colors: torch.Tensor, scale: float, sh_degree: int = 1):
        super().__init__()
        n = points.shape[0]
        self.means = nn.Parameter(points.double().clone())
        self.quats = nn.Parameter(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64).repeat(n, 1))
        self.log_scales = nn.Parameter(torch.full((n, 3), math.log(scale), dtype=torch.float64))
        self.opacity_logits = nn.Parameter(torch.full((n,), 1.0, dtype=torch.float64))
        self.sh0 = nn.Parameter(rgb_to_sh0(colors.double().clamp(0, 1))[:, None, :])
        self.shN = nn.Parameter(torch.zeros(n, (sh_degree + 1) ** 2 - 1, 3, dtype=torch.float64))

    def world(self) -> GaussianSet:
        q = self.quats / self.quats.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return GaussianSet(self.means, q, self.log_scales, self.opacity_logits, self.sh0, self.shN)

    def prune(self, keep: torch.Tensor) -> None:
        """Keep a subset (densification policies call this; optimiser state is rebuilt by the caller)."""
        for name in ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN"):
            setattr(self, name, nn.Parameter(getattr(self, name).detach()[keep].clone()))


class SceneModel(nn.Module):
    def __init__(self, specs: list, background: BackgroundGaussians | None, sh_degree: int = 1,
                 per_area: float = 3000.0, max_per_object: int = 5000, seed: int = 0, counts: list | None = None):
        super().__init__()
        from geonodes import load_program

        self.specs = list(specs)
        self.sh_degree = sh_degree
        self.objects = nn.ModuleList()
        self.anchored = nn.ModuleList()
        for k, spec in enumerate(self.specs):
            obj = ProceduralObject(load_program(spec.program), spec.parameters, spec.yaw, spec.translation,
                                   spec.scale, spec.instance_id, spec.category)
            self.objects.append(obj)
            self.anchored.append(AnchoredGaussians(obj, per_area=per_area, max_count=max_per_object,
                                                   sh_degree=sh_degree, seed=seed + k,
                                                   count=None if counts is None else counts[k]))
        self.background = background

    def meshes(self) -> list:
        """Each object's world mesh as (vertices, triangles, part id), evaluated once: a training step
        hands them to `gaussians`/`render` and to the shape evidence instead of evaluating each twice."""
        return [obj.mesh() for obj in self.objects]

    def gaussians(self, meshes: list | None = None, frames: list | None = None,
                  eye: torch.Tensor | None = None) -> tuple[GaussianSet, list]:
        """All Gaussians in world space, and the (start, end) range of each object's block (`meshes`:
        this model's `meshes()`, or `frames`: each anchored set's `face_frames`, when the caller has
        them already; `eye`: the camera centre anchored Gaussians are shaded for, None: as seen
        head-on)."""
        sets, ranges, start = [], [], 0
        if len(self.anchored):
            if frames is None:
                frames = [a.face_frames(None if meshes is None else meshes[k]) for k, a in enumerate(self.anchored)]
            sets.append(anchored_world(list(self.anchored), frames, eye))
            for a in self.anchored:
                ranges.append((start, start + int(a.face.shape[0])))
                start += int(a.face.shape[0])
        if self.background is not None and len(self.background.means):
            sets.append(self.background.world())
        return GaussianSet.cat(sets), ranges

    def current_specs(self) -> list:
        out = []
        for spec, obj in zip(self.specs, self.objects):
            pose = obj.pose_dict()
            # A discrete edit takes an object out of its consistency group (whose members share discrete values).
            regrouped = any(spec.parameters.get(n, v) != v for n, v in obj.fixed.items())
            out.append(replace(spec, parameters=obj.parameters_dict(), yaw=pose["yaw"],
                               translation=pose["translation"], scale=pose["scale"],
                               group=None if regrouped else spec.group))
        return out

    def render(self, viewmat: torch.Tensor, K: torch.Tensor, width: int, height: int, backend: str = "auto",
               background_rgb=(0.0, 0.0, 0.0), with_depth: bool = True, meta: bool = False,
               meshes: list | None = None, frames: list | None = None):
        """(rgb (H,W,3), depth (H,W) expected depth, alpha (H,W)) for one camera, and with `meta` the
        rasteriser's meta (means2d, radii, ...: what densification reads) as a 4th item (`meshes`,
        `frames`: as `gaussians` takes them)."""
        eye = torch.linalg.inv(viewmat.detach().double().cpu())[:3, 3].to(viewmat.device)
        g, _ = self.gaussians(meshes, frames, eye)
        return render_gaussians(g, self.sh_degree, viewmat, K, width, height, backend, background_rgb, with_depth,
                                meta)


def render_gaussians(g: GaussianSet, sh_degree: int, viewmat: torch.Tensor, K: torch.Tensor, width: int,
                     height: int, backend: str = "auto", background_rgb=(0.0, 0.0, 0.0), with_depth: bool = True,
                     meta: bool = False):
    """(rgb (H,W,3), depth (H,W) expected depth or None, alpha (H,W)) of a set of Gaussians (all of a
    model, or a part of it such as one object's anchored Gaussians) for one camera, on the Gaussians'
    device; with `meta` also the rasteriser's meta."""
    from procsplat.splat.rasterize import rasterize

    dev = g.means.device
    colors = torch.cat([g.sh0, g.shN], dim=1).float()
    out, alpha, info = rasterize(
        g.means.float(), g.quats.float(), torch.exp(g.log_scales).float(), torch.sigmoid(g.opacity_logits).float(),
        colors, viewmat[None].to(dev, torch.float32), K[None].to(dev, torch.float32), width, height,
        sh_degree=sh_degree, backgrounds=torch.tensor([background_rgb], dtype=torch.float32, device=dev),
        render_mode="RGB+ED" if with_depth else "RGB", backend=backend)
    rgb = out[0, ..., :3]
    depth = out[0, ..., 3] if with_depth else None
    return (rgb, depth, alpha[0, ..., 0], info) if meta else (rgb, depth, alpha[0, ..., 0])
