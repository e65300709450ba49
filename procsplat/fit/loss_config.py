"""The fitting loss's settings (`LossConfig`) and term weights (`LossWeights`): what `procsplat.fit.losses`
computes, each field with what was measured when it was chosen."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LossWeights:
    coverage: float = 1.0
    free_space: float = 2.0
    accuracy: float = 0.5
    support: float = 1.0


@dataclass
class LossConfig:
    weights: LossWeights = field(default_factory=LossWeights)
    num_samples: int = 800
    """Surface samples per candidate (fixed barycentric coordinates per topology)."""
    huber: float = 0.02
    truncation: float = 0.15
    free_margin: float = 0.02
    """Surface deeper than this inside observed-empty space costs (free space is known to about
    one 3 cm free voxel: 1 cm left the unseen top of a tall true cabinet 4-10x the cost of a
    2 cm shorter wrong one)."""
    visibility_margin: float = 0.03
    proposals: int = 4
    """Triangles tested exactly per observed point: those with the smallest lower bound of
    their distance (`point_to_mesh_distance`)."""
    reuse_proposals: int = 8
    """Proposals per observed point kept for the next refinement steps (`Scorer.score`'s
    cache, `RefineConfig.proposal_refresh`)."""
    max_points: int = 1000
    """Observed points used by coverage (a fixed seeded subset beyond this)."""
    accuracy_plane: bool = True
    """Accuracy distance: to the nearest observed point's tangent plane (normal from its
    neighbours), plus how far beyond `plane_slack` along the plane, instead of the voxel
    distance field (whose 2 cm quantisation puts true surfaces 1-2.5 cm off)."""
    plane_slack: float = 0.015
    accuracy_deadband: float = 0.0
    """Accuracy ignores the first this many voxels (`ObjectTarget.voxel`, 2 cm: 1 cm) of each
    sample's distance to the observed surface: surface that close is supported by the data (the
    observed points are voxel means, with sensor noise on top), and its sample-by-sample jitter
    within that band is noise. The samples move whenever a part is added or removed (the strata
    of `SurfaceSampler` run over the whole area), so that jitter decided optional parts: a
    realistic bookshelf's fit with legs scored 2.72e-3 and the same fit without (true) 2.72e-3 +
    0.5e-5, its accuracy 8.8e-6 lower with legs from samples all over its front, none near the
    legs; with 1 cm it prefers no legs (coverage, which uses the same observed points for every
    candidate, decides). Float alignment is coverage's job; accuracy still charges surface
    further out. 0 (the default): off. Measured with `accuracy_evidence` on dev seeds 7740-7770
    (README, "accuracy evidence and deadband"): clean discrete misses 8 -> 5 of 107, realistic
    17 -> 20 of 115, and float refinement stops less close to the truth (a clean table 0.78 cm
    off at 70x the truth's loss; `test_last_restart_leaves_a_basin_no_refinement_leaves` fails
    with it), so it is not on by default."""
    accuracy_evidence: bool = False
    """Accuracy counts a sample only from views with evidence about it (`visible_mask`'s
    `evidence`: the depth agrees with it inside the object's mask, or the view saw through it away
    from any silhouette), not from every view it is not hidden from. Without it, a true bed's
    accuracy was 2x a wrong one's: on clean depth one sample at the bed's base, beside its
    silhouette in the one view facing it (its pixel showed the floor 6 cm behind it), carried 86 % of
    the term; with realistic masks (eroded by 1-3 px) the mattress top's edges, observed but outside
    the mask, 2-4 cm from any observed point, carried most of it. Off by default: with the deadband,
    see `accuracy_deadband` for what it measured (alone, on realistic 7750-7760: 7 misses of 53 vs
    main's 5)."""
    visibility_facing: bool = True
    """Accuracy counts a sample as seen only from views its (outward) face looks at: the back
    face of a 2 cm board, or of a handle on a drawer front, lies within `visibility_margin`
    behind the observed depth and otherwise passes as seen, 1-2 cm from any observation."""
    skip_covered_faces: bool = True
    """Accuracy ignores faces pressed against an opposite face of the same shape (`covered_
    triangles`): the ends of a bookshelf's shelves against its back panel, or of a cabinet's
    shelves behind its doors, sit one board thickness behind the observed surface, face the
    camera and pass the visibility margin, so they scored as seen surface 1.7 cm off and the
    fits preferred thinner boards (a true bookshelf's accuracy 8.8e-4 vs 4.2e-4 for a wrong
    one with a back half as thick and no legs)."""
    covered_gap: float = 0.0
    """With `skip_covered_faces`, accuracy also ignores faces looking at an opposite face of the same
    shape at most this far in front of them (`surface.covered_triangles`' `gap`): the walls of a slot,
    e.g. the 4 mm seams between drawer fronts or doors. A depth camera does not see into a slot that
    narrow (at the bench's 320 px, focal 289 px, one pixel spans 3.5 mm per metre of range: 7 mm at
    2 m), yet its walls face the camera and lie within `visibility_margin` behind the observed front,
    so they scored as seen surface up to a board thickness off. 0 (the default): contact only.
    Measured with 0.005 (session 11, bench-fit, dev pairs 7820, 7750, 7780, 7810, against main c92c642):
    clean 7821 #2 cabinet (3 handle-less drawers, 3.9 cm fronts) its refined truth 0.000153 -> 0.000033
    (the wrong doors fit 0.000060 -> 0.000047), fitted right (5/5 from 3/5); realistic 7820 #2 right
    (5/5 from 3/5). But the other drawer/door/handle choices are below what the scans resolve (depth
    change 0.05-1.4 %; a realistic cabinet's handles worth 3e-6 of its 7.6e-4 loss) and the searches
    landed elsewhere: all objects, clean 6 -> 8 misses of 105 (94.3 -> 92.4 %), MAE 0.36 -> 0.55 cm
    (7820 #2 23 cm too tall); realistic 21 -> 23 of 118 (82.2 -> 80.5 %), MAE 1.29 -> 1.14 cm; cabinets
    alone clean 5 -> 7 of 24, realistic 14 -> 17 of 38 (7781 #2 in a quarter-turned basin either way,
    now with handles; 7751 #3 and 7811 #3 doors -> drawers). CPU +1.4 % (clean 7820-7821, 6 objects side
    by side). Off."""
    part_samples: bool = False
    """Samples per part (`surface.PartSampler`, with `terms(parts=...)` as `Scorer` passes): a part
    keeps its samples whatever other parts are added or removed; `num_samples` per area of the
    observed box (2(wd + wh + dh), `ObjectTarget.footprint_box`). Off: on dev seeds (bench-fit,
    session 9) clean misses 2 -> 1 (7770: the bed's footboard, decided by one accuracy sample, now
    right), realistic 7790 5 -> 3 (both tables' round legs right), realistic 7770 6 -> 9 (extra
    misses on surface seen 2-15 %, and a plinth lost by 6e-6 of 2.7e-3), 7740 the same misses:
    realistic 12 -> 13 of 89 in all, so not on (details: `PartSampler`)."""
    floor_explains: bool = True
    """With a known floor (`ObjectTarget.floor_band` > 0), coverage takes each point's distance
    to the candidate or its height above the floor, whichever is smaller: floor pixels that a
    bleeding mask (realistic sensor: 1-3 px) took in around the object's base are explained by
    the floor instead of pulling the shape outwards. Leaving the lowest 3 cm out of coverage
    instead lost the evidence of a sofa's bottom edge: a sofa raised on short legs fitted as
    well as the true one standing on the floor (3 of 18 fits). With it, a point 4 cm up the
    true side still costs a legged candidate min(4 cm, its distance)."""
    coverage_facing: bool = True
    """Coverage matches an observed point only to triangles facing the cameras that saw it (its
    side point's mean ray direction, `ObjectTarget.side_points`; within `facing_slack`): a depth
    pixel lies on surface facing its camera. Without it, a 6 mm office-chair back seen at 3 m (a
    6-7 cm noise slab of voxel means) was covered better by a 6 cm slatted back's front, back and
    side faces than by the true thin back (coverage 4.85e-3 vs 7.11e-3). Targets without side
    points (built with `TargetConfig.side_points` off) use nearest surface of any facing."""
    facing_slack: float = 0.1
    """A triangle faces a point's cameras when normal . ray direction < this (rays at grazing
    incidence, a slightly turned candidate)."""
    coverage_noise: float = 0.0
    """Coverage charges max(0, d - k sigma), k this, sigma each point's measured depth noise
    (`ObjectTarget.point_sigma`, `TargetConfig.point_noise`); 0, no sigmas or noiseless depth: today's
    coverage exactly. A 6 mm mesh chair back's voxel means spread over a 6-7 cm noise slab that a thick
    back covers better; no band makes a thin sheet cover a symmetric cloud better than a ~sigma thick
    slab, it makes coverage tie once k sigma spans the cloud and accuracy decides. Refined truth vs
    slatted, 7791 realistic chair #1: k=0 5.72e-3 vs 3.93e-3, k=2 0.90e-3 vs 0.50e-3, k=4 0.276e-3 vs
    0.284e-3 (chair #3: truth wins from k=1). GA, realistic dev pairs 7790, 7780, 7740 (18 objects): main
    86.4 % discrete (12 misses), MAE 1.19 cm; k=2 89.8 % (9), MAE 1.45 cm, no mesh back fixed, 7740
    alone 96.9 -> 90.6 %; k=4 on 7790: 92.6 % vs 81.5 %, MAE 2.14 vs 1.06 cm. Off: MAE worse."""
    seed: int = 0
