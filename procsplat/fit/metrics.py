"""Accuracy of a fit against a known answer.

discrete accuracy  fraction of the true shape's active int/bool parameters recovered exactly.
discrete accuracy, visible differences only ("disc~")
                   the same, except that a wrong value counts as recovered when it makes no
                   difference a depth camera can see: the true shape with that one value
                   changed renders the same depth (within 1 cm) on all but < 0.25 % of the
                   object's pixels over 24 views around it (8 azimuths x 10/30/50 degrees of
                   elevation, 320x240). Measured on 10 random shapes per program
                   (`depth_change` of every single discrete change): seams - abutting sofa
                   cushions or bed pillows 1 vs 2 vs 3: 0.06-0.47 %, doors vs drawer fronts and
                   their counts without handles: 0.02-0.2 % - moved handles 0.50-1.1 %, a
                   bookshelf divider >= 1.4 %, legs >= 1.6 %, everything else more. The
                   threshold sits inside the seam group on purpose (conservative: only clearly
                   invisible changes are forgiven). Both columns are reported; the exact one
                   is the headline.
float MAE          mean |fit - truth| of the true shape's active float parameters, x100
                   (centimetres for lengths; scale-like parameters are unitless x100).
yaw error          degrees, modulo the true shape's own symmetry: a turn by 90/180/270 degrees
                   about the shape's vertical axis counts as no error when the turned true mesh
                   matches itself (symmetric chamfer below `symmetry_tolerance`). Detected per
                   object, so a square table is 90-degree ambiguous and a chair is not. Any
                   other error angle above 1 degree likewise counts as none when the true mesh
                   turned by it moves less than 1 mm (chamfer; `turn_is_symmetry`: a round
                   pedestal table has no yaw a camera can see). Also
                   modulo re-parameterisation: the fit's yaw is taken in the quarter turn in
                   which its own shape best matches the true one (`matching_turn`; a table
                   fitted turned 90 degrees with Width and Depth swapped is the right table).
equivalent parameterisations
                   all parameter metrics score the fit against the closest of the true shape's
                   equivalent parameterisations (`equivalent_truth`): the truth with pairs of
                   its own values swapped (Width <-> Depth, Has Left Arm <-> Has Right Arm)
                   when the swapped shape, turned by some quarter turn, is the true shape again
                   (chamfer < 0.5 mm). A backless sofa with its arm on the left, turned 180
                   degrees, is the same sofa with its arm on the right; the fit names which
                   swaps it was scored with.
chamfer            symmetric chamfer distance between the fitted and the true mesh, cm: mean of
                   both directions' mean distance from area-weighted samples of one mesh to the
                   other's surface (exact point-to-triangle, so two identical meshes give ~0).
seen share         per discrete miss, with the target (`evaluate_fit(..., target=)`): the share of
                   the surface that the one wrong value changes (samples of the true shape and of
                   the true shape with that value, posed at the true pose, farther than 1.5 cm
                   from the other) that this scan has any evidence on: seen by a kept depth view
                   (not behind its depth by more than the loss's visibility margin) or inside
                   observed-empty space (`seen_share`). Where both sides are below 10 %, no loss
                   on this scan can tell the values apart: the shelves of a bookshelf seen only
                   from behind (5-6 %), the arm on a sofa's never-seen end, a table's apron under
                   its top (0 %). Measured on the realistic seeds 7730-7731: 5 of the 7 misses.
evidence ceiling   per object, with the target (`evidence_chance`): the truth's discrete parameters
                   with some other value the scan has no evidence against (that value changes
                   < 0.25 % of the depth, or its disputed surface is seen < 10 %). A fit can get
                   such a parameter right only by chance (1/k among k values alike), so these
                   bound the accuracy a fit can be expected to reach on this scan: `bench-fit
                   --ceiling` prints the bound below each table.
truth loss         the fitting loss of the true shape at its true pose: a fit with a loss at or
                   below it did its search's job, and a wrong discrete value there is one the
                   data cannot tell apart (hidden legs, pillows under a bunk) rather than a miss
                   of the search.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from procsplat.geometry import object_to_world

from .losses import point_to_mesh_distance
from .pose import place_on_floor
from .surface import sample_mesh_surface


def point_to_surface(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Exact distances (N,) from points to a mesh surface (every triangle is a proposal)."""
    v = torch.as_tensor(np.asarray(vertices, dtype=np.float64)).unsqueeze(0)
    t = torch.as_tensor(np.asarray(triangles, dtype=np.int64))
    with torch.no_grad():
        d = point_to_mesh_distance(torch.as_tensor(points, dtype=torch.float64), v, t, k=len(t))
    return d[0].numpy()


def chamfer(a_vertices, a_triangles, b_vertices, b_triangles, n: int = 3000, seed: int = 0) -> float:
    """Symmetric chamfer distance (metres) between two meshes: mean over area-weighted samples
    of each of the distance to the other surface, averaged over both directions."""
    pa = sample_mesh_surface(a_vertices, a_triangles, n, seed)
    pb = sample_mesh_surface(b_vertices, b_triangles, n, seed + 1)
    da = point_to_surface(pa, b_vertices, b_triangles)
    db = point_to_surface(pb, a_vertices, a_triangles)
    return float((da.mean() + db.mean()) / 2)


def fitted_mesh(program, result) -> tuple[np.ndarray, np.ndarray]:
    """World vertices and triangles of a FitResult."""
    mesh = program.evaluate_one(result.parameters, dtype=torch.float64)
    world = object_to_world(mesh.vertices, float(result.yaw), np.asarray(result.translation, np.float64),
                            float(result.scale))
    return world.numpy(), mesh.triangles.numpy()


def _turned(vertices: torch.Tensor, k: float) -> np.ndarray:
    """(V,3) float64 vertices turned by k quarter turns (any real k) about their footprint centre,
    on the floor."""
    yaw = torch.tensor([k * math.pi / 2], dtype=torch.float64)
    v, _ = place_on_floor(vertices.unsqueeze(0), yaw, torch.zeros(1, 2, dtype=torch.float64), 0.0, centre_xy=True)
    return v[0].numpy()


def symmetry_turns(program, parameters: dict, tolerance: float = 0.01) -> list[int]:
    """Quarter turns k (0..3) about the shape's vertical axis that leave the true shape unchanged."""
    mesh = program.evaluate_one(parameters, dtype=torch.float64)
    t = mesh.triangles.numpy()
    base = _turned(mesh.vertices, 0)
    return [0] + [k for k in (1, 2, 3) if chamfer(base, t, _turned(mesh.vertices, k), t, n=1000) < tolerance]


def matching_turn(program, fit: dict, truth: dict) -> int:
    """The quarter turn k (0..3) by which the fitted shape, turned about its own vertical axis,
    best matches the true shape (chamfer, both centred on their footprints): a table fitted with
    Width and Depth swapped matches after one quarter turn, so its yaw is `k` quarters off by
    parameterisation, not in the world."""
    a = program.evaluate_one(fit, dtype=torch.float64)
    b = program.evaluate_one(truth, dtype=torch.float64)
    base = _turned(b.vertices, 0)
    costs = [chamfer(_turned(a.vertices, k), a.triangles.numpy(), base, b.triangles.numpy(), n=1000) for k in range(4)]
    return int(np.argmin(costs))


def yaw_error_deg(fit_yaw: float, true_yaw: float, turns: list[int], fit_turn: int = 0) -> float:
    """|fit - true| yaw in degrees, modulo the true shape's symmetry `turns`; `fit_turn` quarter
    turns are first taken off the fit's yaw (`matching_turn`)."""
    return abs(math.degrees(signed_yaw_error(fit_yaw, true_yaw, turns, fit_turn)))


def signed_yaw_error(fit_yaw: float, true_yaw: float, turns: list[int], fit_turn: int = 0) -> float:
    """The fit's yaw minus the true one in radians, in [-pi, pi), modulo the symmetry `turns`
    (the smallest in magnitude) after `fit_turn` quarter turns are taken off the fit's yaw."""
    errs = [(fit_yaw - fit_turn * math.pi / 2 - true_yaw - k * math.pi / 2 + math.pi) % (2 * math.pi) - math.pi
            for k in turns]
    return min(errs, key=abs)


def turn_is_symmetry(program, parameters: dict, angle: float, tolerance: float = 0.001) -> bool:
    """Whether the true shape turned by `angle` (radians) about its footprint centre matches
    itself: symmetric chamfer below `tolerance`, 1 mm, under any depth sensor's noise (not the
    quarter turns' 1 cm: a cabinet turned by 2 degrees moves 0.9 cm on average, a bookshelf by
    5 degrees 0.6 cm). A round pedestal table is its own image under every turn: no camera can
    tell its yaw, so a fit's yaw that differs by such an angle is no error (measured: a
    1.07 x 1.02 m elliptic top on a disc foot fitted 34.7 degrees off, with a loss below the
    true pose's own; that top turned by 34.7 degrees moves 0.06 mm, by 90 degrees 1.0 mm)."""
    mesh = program.evaluate_one(parameters, dtype=torch.float64)
    t = mesh.triangles.numpy()
    k = angle / (math.pi / 2)
    return chamfer(_turned(mesh.vertices, 0), t, _turned(mesh.vertices, k), t, n=1000) < tolerance


def _scored(program, truth: dict):
    """The parameters the metrics score: searched ones with a range, active in the true shape."""
    for p in program.parameters:
        if p.sample and (p.kind == "bool" or p.max > p.min) and program.is_active(p.name, truth):
            yield p


def _same(p, a, b) -> bool:
    return bool(a) == bool(b) if p.kind == "bool" else int(a) == int(b)


def parameter_errors(program, fit: dict, truth: dict) -> tuple[float, float, int, int]:
    """(discrete accuracy, float MAE x100, #discrete, #floats) over the truth's active parameters."""
    hits, n_disc, errs = 0, 0, []
    for p in _scored(program, truth):
        if p.kind == "float":
            errs.append(abs(float(fit[p.name]) - float(truth[p.name])) * 100.0)
        else:
            n_disc += 1
            hits += int(_same(p, fit[p.name], truth[p.name]))
    acc = hits / n_disc if n_disc else 1.0
    mae = float(np.mean(errs)) if errs else 0.0
    return acc, mae, n_disc, len(errs)


def _view_poses(vertices: np.ndarray, width: int, height: int, azimuths: int = 8,
                elevations=(10.0, 30.0, 50.0)):
    """(K, [cam_to_world]) looking at the shape's box centre from around and above it."""
    from procsplat.geometry import look_at

    lo, hi = vertices.min(0), vertices.max(0)
    c = (lo + hi) / 2
    r = 1.2 * float(np.linalg.norm(hi - lo)) + 1.0
    f = 577.0 * width / 640
    K = np.array([[f, 0.0, width / 2 - 0.5], [0.0, f, height / 2 - 0.5], [0.0, 0.0, 1.0]])
    poses = []
    for i, e in enumerate(elevations):
        el = math.radians(e)
        for a in range(azimuths):
            az = 2 * math.pi * (a + 0.5 * (i % 2)) / azimuths
            eye = c + r * np.array([math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el)])
            poses.append(look_at(eye, c))
    return K, poses


def depth_change(program, a: dict, b: dict, width: int = 320, height: int = 240, tolerance: float = 0.01,
                 a_depths: list | None = None) -> float:
    """Share of the pixels covered by either shape (over `_view_poses` of shape a) whose rendered
    depth differs by more than `tolerance` metres or is covered by only one of them. `a_depths`:
    shape a's maps from `depth_maps` (rendered here when None)."""
    da_all = depth_maps(program, a, width, height) if a_depths is None else a_depths
    db_all = depth_maps(program, b, width, height, like=a)
    covered = changed = 0
    for da, db in zip(da_all, db_all):
        cov = (da > 0) | (db > 0)
        covered += int(cov.sum())
        changed += int((cov & (((da > 0) != (db > 0)) | (np.abs(da - db) > tolerance))).sum())
    return changed / covered if covered else 0.0


def depth_maps(program, params: dict, width: int = 320, height: int = 240, like: dict | None = None) -> list:
    """Depth maps of the shape of `params` over `_view_poses` of the shape of `like` (default: itself)."""
    from geonodes.render import render_mesh

    mesh = program.evaluate_one(params, dtype=torch.float64)
    ref = mesh if like is None else program.evaluate_one(like, dtype=torch.float64)
    K, poses = _view_poses(ref.vertices.numpy() if len(ref.vertices) else np.zeros((1, 3)), width, height)
    K = torch.from_numpy(K)
    return [render_mesh(mesh.vertices, mesh.triangles, K, torch.from_numpy(c2w), width, height,
                        shading=False)["depth"].numpy() for c2w in poses]


def discrete_misses(program, fit: dict, truth: dict, invisible_share: float = 0.0025) -> list[dict]:
    """The truth's active discrete parameters the fit got wrong: name, both values, the depth
    change of that one value in the true shape (`depth_change`), and whether it is invisible."""
    out = []
    for p in _scored(program, truth):
        f, t = fit[p.name], truth[p.name]
        if p.kind == "float" or _same(p, f, t):
            continue
        share = depth_change(program, truth, {**truth, p.name: f})
        out.append({"name": p.name, "fit": f, "truth": t, "depth_change": share,
                    "invisible": share < invisible_share})
    return out


def seen_share(program, truth, changed: dict, target, gap: float = 0.015, n: int = 2000) -> float:
    """The larger, over both shapes, of the share of their disputed surface that `target` has
    evidence on (module doc, "seen share"): `truth` a SyntheticTruth, `changed` its parameters
    with some values changed, both posed at the true pose. 1.0 when the shapes do not differ."""
    from .losses import LossConfig, ViewStack, sample_fields, visible_mask

    cfg = LossConfig()
    meshes = []
    for params in (truth.parameters, changed):
        m = program.evaluate_one(params, dtype=torch.float64)
        meshes.append((object_to_world(m.vertices, truth.yaw, np.asarray(truth.translation, np.float64)).numpy(),
                       m.triangles.numpy()))
    stack = ViewStack(target.views, torch.float64) if target.views else None
    shares = []
    for i, (v, t) in enumerate(meshes):
        if len(t) == 0:
            continue
        other = meshes[1 - i]
        pts = sample_mesh_surface(v, t, n, seed=i)
        if len(other[1]):
            pts = pts[point_to_surface(pts, *other) > gap]
        if len(pts) == 0:
            continue
        x = torch.from_numpy(pts)
        evidence = sample_fields(target, x)[:, 0] > cfg.free_margin
        if stack is not None:
            evidence |= visible_mask(target, x, cfg.visibility_margin, stack)
        shares.append(float(evidence.double().mean()))
    return max(shares) if shares else 1.0


def evidence_chance(program, truth, target, invisible_share: float = 0.0025, below: float = 0.1) -> tuple[list, float]:
    """(names of the parameters without evidence, expected hits by chance) over the truth's scored discrete
    parameters (module doc, "evidence ceiling"). A value of a parameter other than the true one has
    no evidence on this scan when changing the truth to it changes under `invisible_share` of the
    rendered depth (`depth_change`) or only surface the scan has no evidence on (`seen_share` <
    `below`). A parameter with k - 1 such values is a guess among k: 1/k of a hit is expected."""
    free, hits, true_depths = [], 0.0, None
    for p in _scored(program, truth.parameters):
        if p.kind == "float":
            continue
        t = truth.parameters[p.name]
        others = [not t] if p.kind == "bool" else [v for v in range(int(p.min), int(p.max) + 1) if v != int(t)]
        alike = 0
        for v in others:
            changed = {**truth.parameters, p.name: v}
            true_depths = true_depths or depth_maps(program, truth.parameters)
            if (depth_change(program, truth.parameters, changed, a_depths=true_depths) < invisible_share
                    or seen_share(program, truth, changed, target) < below):
                alike += 1
        if alike:
            free.append(p.name)
        hits += 1.0 / (1 + alike)
    return free, hits


def _swap_gain(p, q, fit: dict, truth: dict, active: set | None = None) -> float:
    """How much closer the fit gets to the truth when the truth's values of p and q are swapped
    (discrete: fewer mismatches; float: smaller summed error by > 1 cm); <= 0 when it does not
    help. A swapped float may lie outside the other parameter's range (a 1.22 m wide table
    fitted turned, with its Depth at the 1.2 m maximum): the shape decides; a swapped int may
    not."""
    if p.kind != q.kind or _same(p, truth[p.name], truth[q.name]) and p.kind != "float":
        return 0.0
    if p.kind == "int" and not (p.min <= truth[q.name] <= p.max and q.min <= truth[p.name] <= q.max):
        return 0.0  # an int outside its range is no parameterisation (Front Type 6)
    if p.kind == "float":  # a float the fit has switched off (`active`: its active names) has no error
        def err(name, value):
            return abs(float(fit[name]) - float(value)) if active is None or name in active else 0.0
        return (err(p.name, truth[p.name]) + err(q.name, truth[q.name])
                - err(p.name, truth[q.name]) - err(q.name, truth[p.name]) - 0.01)
    miss = lambda a, b: int(not _same(p, a, b))
    return float(miss(fit[p.name], truth[p.name]) + miss(fit[q.name], truth[q.name])
                 - miss(fit[p.name], truth[q.name]) - miss(fit[q.name], truth[p.name]))


def equivalent_truth(program, fit: dict, truth: dict, tolerance: float = 0.0005,
                     max_pairs: int = 4) -> tuple[dict, list[tuple[str, str]]]:
    """The truth's parameterisation closest to the fit among those that build the same shape: the
    truth with pairs of its values swapped (pairs that bring the fit closer, best `max_pairs`,
    every disjoint subset) when the swapped mesh, turned by some quarter turn about its footprint
    centre, matches the true mesh (chamfer < `tolerance` metres). Returns (parameters, swaps);
    parameters missing from `truth` or `fit` take the program's defaults."""
    fit, truth = {**program.defaults, **fit}, {**program.defaults, **truth}
    params = [p for p in program.parameters if p.sample and (p.kind == "bool" or p.max > p.min)]
    active = {p.name for p in program.parameters if program.is_active(p.name, fit)}
    gains = sorted(((_swap_gain(p, q, fit, truth, active), p.name, q.name) for i, p in enumerate(params)
                    for q in params[i + 1:]), reverse=True)
    pairs = [(a, b) for g, a, b in gains if g > 0][:max_pairs]
    if not pairs:
        return truth, []
    true_mesh = program.evaluate_one(truth, dtype=torch.float64)
    base, tri = _turned(true_mesh.vertices, 0), true_mesh.triangles.numpy()

    def distance(alt):  # (discrete misses, float error) of the fit against alt
        ps = list(_scored(program, alt))
        return (sum(not _same(p, fit[p.name], alt[p.name]) for p in ps if p.kind != "float"),
                sum(abs(float(fit[p.name]) - float(alt[p.name])) for p in ps if p.kind == "float"))

    best, best_swaps, best_d = truth, [], distance(truth)
    kinds = sorted(p.kind for p in _scored(program, truth))
    for mask in range(1, 2 ** len(pairs)):
        swaps = [pr for i, pr in enumerate(pairs) if mask >> i & 1]
        names = [n for pr in swaps for n in pr]
        if len(set(names)) < len(names):
            continue
        alt = dict(truth)
        for a, b in swaps:
            alt[a], alt[b] = truth[b], truth[a]
        d = distance(alt)
        if d >= best_d or sorted(p.kind for p in _scored(program, alt)) != kinds:
            continue  # an equivalent parameterisation scores as many parameters of each kind (a bed's
            # one end board: Has Headboard with its height, or Has Footboard with its, turned 180 degrees)
        mesh = program.evaluate_one(alt, dtype=torch.float64)
        t = mesh.triangles.numpy()
        if any(chamfer(_turned(mesh.vertices, k), t, base, tri, n=1000) < tolerance for k in range(4)):
            best, best_swaps, best_d = alt, swaps, d
    return best, best_swaps


def truth_genome(space, truth):
    """The true parameters and pose encoded as the search encodes candidates (one genome)."""
    from .candidates import Genomes

    disc, unit = space.from_dict(truth.parameters)
    local = space.program.evaluate_one(truth.parameters, dtype=torch.float64).vertices.numpy()
    centre = (local[:, :2].min(0) + local[:, :2].max(0)) / 2  # the search's pose: footprint centre
    c, s = math.cos(truth.yaw), math.sin(truth.yaw)
    xy = np.array([[c, -s], [s, c]]) @ centre + np.asarray(truth.translation)[:2]
    return Genomes(disc[None], unit[None], np.array([[truth.yaw, xy[0], xy[1], 0.0]]))


def truth_loss(program, target, truth, config=None) -> float:
    """Total fitting loss (the GA's losses) of the true parameters, refined from the true pose as the
    GA refines its winner: `config.final_steps` steps (GAConfig; None: the default preset) of
    `config.refine_config` under `config.loss`. Refinement keeps the best state it visits, so this is
    at most the unrefined truth's loss. Unrefined, the truth's floats sit at a minimum of the clean
    shape, not of the noisy scan the fit's floats were refined on, and a fit scoring below it was
    counted as the loss's failure where the refined truth still wins (a search miss)."""
    from .candidates import Scorer, SearchSpace
    from .refine import refine
    from .search import GAConfig

    cfg = config or GAConfig()
    space = SearchSpace(program, cfg.scale_range)
    scorer = Scorer(space, target, cfg.loss)
    _, loss = refine(scorer, truth_genome(space, truth), cfg.final_steps, cfg.refine_config)
    return float(loss[0])


def evaluate_fit(program, result, truth, target=None) -> dict:
    """All metrics of one FitResult against a SyntheticTruth (with the `target`: each discrete
    miss's "seen_share")."""
    scored_truth, swaps = equivalent_truth(program, result.parameters, truth.parameters)
    acc, mae, n_disc, n_float = parameter_errors(program, result.parameters, scored_truth)
    misses = discrete_misses(program, result.parameters, scored_truth)
    if target is not None:  # a swapped parameter's miss is its partner's in the true parameters
        partner = {**{a: b for a, b in swaps}, **{b: a for a, b in swaps}}
        for m in misses:
            changed = {**truth.parameters, partner.get(m["name"], m["name"]): m["fit"]}
            m["seen_share"] = seen_share(program, truth, changed, target)
    invisible = sum(m["invisible"] for m in misses)
    turns = symmetry_turns(program, truth.parameters)
    fit_turn = matching_turn(program, result.parameters, truth.parameters)
    yaw_err = yaw_error_deg(result.yaw, truth.yaw, turns, fit_turn)
    if yaw_err > 1.0 and turn_is_symmetry(program, truth.parameters,
                                          signed_yaw_error(result.yaw, truth.yaw, turns, fit_turn)):
        yaw_err = 0.0  # the true shape turned by the error is itself (a round table): no error
    v, t = fitted_mesh(program, result)
    return {"discrete_acc": acc, "discrete_acc_visible": acc + invisible / n_disc if n_disc else 1.0,
            "discrete_misses": misses, "equivalent_swaps": swaps, "float_mae_cm": mae, "num_discrete": n_disc, "num_float": n_float,
            "yaw_err_deg": yaw_err, "symmetry_turns": turns,
            "fit_turn": fit_turn,
            "chamfer_cm": chamfer(v, t, truth.vertices, truth.triangles) * 100.0,
            "seconds": result.seconds, "evaluations": result.evaluations}
