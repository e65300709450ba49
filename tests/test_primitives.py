"""Mesh primitives: hand-checked cases, gradients, and (marked `blender`) live comparison with bpy."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from geonodes import primitives as P

F64 = torch.float64


def t(*values) -> torch.Tensor:
    """One-row float64 batch: t(1.5) -> (1,), t([1, 2, 3]) -> (1, 3)."""
    return torch.tensor(np.array(values, dtype=np.float64))


# ---------------------------------------------------------------- hand-checked (no bpy)


def test_cube_2x2x2_matches_blender_table():
    size = t([1.0, 2.0, 3.0])
    mesh = P.mesh_cube(size, 2, 2, 2)
    x, y, z = 0.5, 1.0, 1.5
    expected = [(-x, -y, -z), (x, -y, -z), (-x, y, -z), (x, y, -z), (-x, -y, z), (x, -y, z), (-x, y, z), (x, y, z)]
    assert mesh.vertices.shape == (1, 8, 3)
    assert torch.allclose(mesh.vertices[0], torch.tensor(expected, dtype=F64))
    assert mesh.polygons() == [[0, 2, 3, 1], [0, 1, 5, 4], [4, 5, 7, 6], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]]
    assert mesh.face_offsets.tolist() == [0, 4, 8, 12, 16, 20, 24]
    assert mesh.face_offsets.dtype == torch.int64 and mesh.face_vertices.dtype == torch.int64


def test_edges_in_blenders_order_where_modelled():
    """Blender's edge order (bpy: tests below): a cube's from BKE_mesh_calc_edges, a grid's and a
    circle's written out, an ico sphere's in BMesh's creation order (its subdivision replayed);
    not modelled: cubes of 1000+ faces (Blender splits the edges over as many hash sets as the
    machine has threads)."""
    assert P.mesh_cube(t([1.0, 1.0, 1.0]), 2, 2, 2).edges.tolist() == [
        [0, 1], [0, 2], [2, 3], [1, 3], [0, 4], [1, 5], [4, 5], [4, 6], [5, 7], [6, 7], [2, 6], [3, 7]]
    assert P.mesh_grid(t(1.0), t(1.0), 3, 2).edges.tolist() == [[0, 1], [2, 3], [4, 5], [0, 2], [2, 4], [1, 3], [3, 5]]
    assert P.mesh_circle(t(1.0), 4, "TRIANGLE_FAN").edges.tolist()[3:6] == [[3, 0], [4, 0], [4, 1]]
    assert P.mesh_line_offset(t([0.0, 0, 0]), t([1.0, 0, 0]), 3).edges.tolist() == [[0, 1], [1, 2]]
    assert P.mesh_ico_sphere(t(1.0), 1).edges.shape == (30, 2) and P.mesh_ico_sphere(t(1.0), 2).edges.shape == (120, 2)
    assert P.mesh_ico_sphere(t(1.0), 2).edges.tolist()[30:33] == [[2, 12], [0, 13], [1, 14]]  # the cuts' new halves
    assert P.mesh_cube(t([1.0, 1.0, 1.0]), 14, 14, 14).edges is None  # 1014 faces
    assert P.mesh_cube(t([1.0, 1.0, 1.0]), 13, 13, 13).edges.shape == (2 * 864, 2)  # 864 quads, closed


def test_cube_counts():
    size = t([2.0, 2.0, 2.0])
    assert P.mesh_cube(size, 3, 3, 3).vertices.shape[1] == 26  # 27 grid points minus the centre
    assert P.mesh_cube(size, 3, 3, 3).num_faces == 24
    assert P.mesh_cube(size, 1, 1, 1).vertices[0].tolist() == [[0.0, 0.0, 0.0]]
    line = P.mesh_cube(size, 1, 3, 1)
    assert line.vertices[0].tolist() == [[0, -1, 0], [0, 0, 0], [0, 1, 0]] and line.num_faces == 0
    for bad in [(0, 2, 2), (2, -1, 2), (2, 2, 0)]:
        empty = P.mesh_cube(size, *bad)
        assert empty.vertices.shape == (1, 0, 3) and empty.num_faces == 0 and empty.face_offsets.tolist() == [0]


def test_line_modes():
    start, offset = t([1.0, 2.0, 3.0]), t([1.0, 1.0, 2.0])
    assert P.mesh_line_offset(start, offset, 3).vertices[0].tolist() == [[1, 2, 3], [2, 3, 5], [3, 4, 7]]
    assert P.mesh_line_offset(start, offset, 0).vertices.shape == (1, 0, 3)
    ends = P.mesh_line_end_points_total(start, offset, 3).vertices[0].tolist()
    assert ends == [[1, 2, 3], [1, 1.5, 2.5], [1, 1, 2]]
    assert P.mesh_line_end_points_total(start, offset, 1).vertices[0].tolist() == [[1, 2, 3]]
    # |end - start| = sqrt(2): resolution 0.7 fits two steps of exactly 0.7 -> 3 points.
    res = t(0.7)
    count = P.line_resolution_count(start, offset, res)
    assert count.tolist() == [3] and count.dtype == torch.int64
    pts = P.mesh_line_end_points_resolution(start, offset, res, 3).vertices[0]
    step = 0.7 / np.sqrt(2)
    assert torch.allclose(pts, torch.tensor([[1, 2, 3], [1, 2 - step, 3 - step], [1, 2 - 2 * step, 3 - 2 * step]], dtype=F64))
    assert P.line_resolution_count(start, offset, t(0.0)).tolist() == [int(np.sqrt(2) / 0.0001) + 1]


def test_uv_sphere_small():
    mesh = P.mesh_uv_sphere(t(2.0), 4, 3)
    v = mesh.vertices[0]
    assert v.shape == (10, 3) and v[0].tolist() == [0, 0, 2] and v[-1].tolist() == [0, 0, -2]
    # starts at 90 degrees; Blender's float32 trigonometry: x is 2 * cos(float32(pi / 2)), not 0
    assert torch.allclose(v[1], torch.tensor([0.0, 3**0.5, 1.0], dtype=F64), atol=1e-6) and v[1, 0] < 0
    assert mesh.polygons()[:4] == [[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 1]]
    assert mesh.polygons()[4] == [1, 5, 6, 2] and mesh.polygons()[-1] == [9, 5, 8]
    assert P.mesh_uv_sphere(t(2.0), 2, 3).vertices.shape == (1, 0, 3)


def test_ico_sphere_counts_and_radius():
    for subdivisions, (nv, nf) in {-1: (12, 20), 1: (12, 20), 2: (42, 80), 3: (162, 320), 4: (642, 1280)}.items():
        mesh = P.mesh_ico_sphere(t(2.0), subdivisions)
        assert mesh.vertices.shape == (1, nv, 3) and mesh.num_faces == nf
        assert all(len(p) == 3 for p in mesh.polygons())
        used = torch.zeros(nv, dtype=torch.bool)
        used[mesh.face_vertices] = True
        assert bool(used.all())
        if subdivisions > 1:  # projected onto the sphere; a negative radius acts as |radius|
            assert torch.allclose(mesh.vertices[0].norm(dim=1), torch.full((nv,), 2.0, dtype=F64))
            assert torch.equal(P.mesh_ico_sphere(t(-2.0), subdivisions).vertices, mesh.vertices)
    base = P.mesh_ico_sphere(t(200.0), 1)
    assert base.vertices[0, 1].tolist() == pytest.approx([144.72, -105.144, -89.443])
    assert base.polygons()[:2] == [[0, 1, 2], [1, 0, 5]]


def test_grid_2x2_and_circle_4():
    grid = P.mesh_grid(t(2.0), t(4.0), 2, 2)
    assert grid.vertices[0].tolist() == [[-1, -2, 0], [-1, 2, 0], [1, -2, 0], [1, 2, 0]]
    assert grid.polygons() == [[0, 2, 3, 1]]
    ngon = P.mesh_circle(t(2.0), 4, "NGON")
    assert torch.allclose(ngon.vertices[0], torch.tensor([[2, 0, 0], [0, 2, 0], [-2, 0, 0], [0, -2, 0]], dtype=F64),
                          atol=1e-6)  # Blender's float32 trigonometry
    assert ngon.polygons() == [[0, 1, 2, 3]]
    fan = P.mesh_circle(t(2.0), 4, "TRIANGLE_FAN")
    assert fan.vertices.shape == (1, 5, 3) and fan.polygons() == [[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]
    assert P.mesh_circle(t(2.0), 4, "NONE").num_faces == 0
    assert P.mesh_circle(t(2.0), 2, "NGON").vertices.shape == (1, 0, 3)


def test_cylinder_ngon_32_layout():
    mesh = P.mesh_cylinder(t(0.5), t(2.0), 32, 1, 1, "NGON")
    v = mesh.vertices[0]
    assert v.shape == (64, 3)
    assert torch.allclose(v[:32, 2], torch.full((32,), 1.0, dtype=F64)) and torch.allclose(v[32:, 2], torch.full((32,), -1.0, dtype=F64))
    assert torch.allclose(v[:, :2].norm(dim=1), torch.full((64,), 0.5, dtype=F64))
    polys = mesh.polygons()
    assert len(polys) == 34 and polys[0] == list(range(32)) and polys[-1] == list(range(63, 31, -1))
    assert polys[1] == [0, 32, 33, 1] and polys[32] == [31, 63, 32, 0]


def test_cone_point_merge_and_batch_rules():
    cone = P.mesh_cone(t(0.0), t(1.0), t(2.0), 4, 1, 1, "NGON")
    assert cone.vertices.shape == (1, 5, 3)  # tip + base ring
    assert cone.vertices[0, 0].tolist() == [0, 0, 2] and cone.vertices[0, 1:, 2].tolist() == [0] * 4
    assert cone.polygons() == [[1, 2, 0], [2, 3, 0], [3, 4, 0], [4, 1, 0], [4, 3, 2, 1]]
    line = P.mesh_cone(t(0.0), t(0.0), t(2.0), 4, 2, 1, "NGON")
    assert line.vertices[0].tolist() == [[0, 0, 2], [0, 0, 1], [0, 0, 0]]
    assert P.mesh_cylinder(t(0.0), t(0.0), 8, 3, 1, "NGON").vertices[0].tolist() == [[0, 0, 0]]
    with pytest.raises(ValueError, match="radius_top == 0"):
        P.mesh_cone(torch.tensor([0.0, 1.0], dtype=F64), t(1.0), t(2.0), 4, 1, 1, "NGON")
    top, bottom, single = P.cone_topology_flags(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.0]), torch.tensor([0.0, 1.0]))
    assert top.tolist() == [True, False] and bottom.tolist() == [True, True] and single.tolist() == [True, False]


def test_bad_inputs_name_the_parameter():
    with pytest.raises(TypeError, match="vertices_y"):
        P.mesh_cube(t([1.0, 1.0, 1.0]), 2, 2.0, 2)
    with pytest.raises(ValueError, match="'size'"):
        P.mesh_cube(t(1.0), 2, 2, 2)
    with pytest.raises(ValueError, match="fill_type"):
        P.mesh_circle(t(1.0), 8, "FAN")
    with pytest.raises(ValueError, match="has batch size 2, others have 3"):
        P.mesh_cylinder(torch.ones(2, dtype=F64), torch.ones(3, dtype=F64), 8, 1, 1, "NGON")


def test_batch_rows_are_independent_and_dtype_follows_input():
    radius = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float32)
    depth = torch.tensor([1.0, 3.0, 0.5], dtype=torch.float32)
    mesh = P.mesh_cylinder(radius, depth, 8, 2, 2, "NGON")
    assert mesh.vertices.dtype == torch.float32 and mesh.vertices.shape[0] == 3
    for i in range(3):
        single = P.mesh_cylinder(radius[i:i + 1], depth[i:i + 1], 8, 2, 2, "NGON")
        assert torch.equal(single.vertices[0], mesh.vertices[i])


GRADCHECK_CASES = [
    ("cube", lambda s: P.mesh_cube(s, 3, 2, 4), [(2, 3)]),
    ("cylinder", lambda r, d: P.mesh_cylinder(r, d, 5, 2, 2, "TRIANGLE_FAN"), [(2,), (2,)]),
    ("cone", lambda a, b, d: P.mesh_cone(a, b, d, 6, 2, 2, "NGON"), [(2,), (2,), (2,)]),
    ("line_offset", lambda a, b: P.mesh_line_offset(a, b, 4), [(2, 3), (2, 3)]),
    ("line_total", lambda a, b: P.mesh_line_end_points_total(a, b, 4), [(2, 3), (2, 3)]),
    ("line_resolution", lambda a, b, r: P.mesh_line_end_points_resolution(a, b, r, 3), [(2, 3), (2, 3), (2,)]),
    ("grid", lambda x, y: P.mesh_grid(x, y, 3, 4), [(2,), (2,)]),
    ("circle", lambda r: P.mesh_circle(r, 7, "TRIANGLE_FAN"), [(2,)]),
    ("uv_sphere", lambda r: P.mesh_uv_sphere(r, 5, 4), [(2,)]),
    ("ico_sphere", lambda r: P.mesh_ico_sphere(r, 3), [(2,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK_CASES, ids=[c[0] for c in GRADCHECK_CASES])
def test_gradcheck(name, fn, shapes):
    gen = torch.Generator().manual_seed(0)
    inputs = [(torch.rand(s, generator=gen, dtype=F64) + 0.5).requires_grad_() for s in shapes]
    assert torch.autograd.gradcheck(lambda *x: fn(*x).vertices, inputs)


# ---------------------------------------------------------------- against live Blender


def _blender_mesh(node_type: str, inputs: dict, props: dict | None = None):
    """Evaluate one primitive node in bpy; returns (vertices (V,3) float64, polygons, edges)."""
    bpy = pytest.importorskip("bpy", reason="needs bpy (the `blender` extra)")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = bpy.data.objects.new("o", bpy.data.meshes.new("m"))
    bpy.context.scene.collection.objects.link(obj)
    tree = bpy.data.node_groups.new("g", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    out = tree.nodes.new("NodeGroupOutput")
    node = tree.nodes.new(node_type)
    for key, value in (props or {}).items():
        setattr(node, key, value)
    sockets = {s.identifier: s for s in node.inputs}  # by identifier: hidden sockets stay reachable
    for key, value in inputs.items():
        sockets[key].default_value = value
    tree.links.new(node.outputs[0], out.inputs[0])
    obj.modifiers.new("GN", "NODES").node_group = tree
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
    verts = np.array([tuple(v.co) for v in mesh.vertices], dtype=np.float64).reshape(-1, 3)
    return verts, [list(p.vertices) for p in mesh.polygons], [tuple(e.vertices) for e in mesh.edges]


def _check(ours: P.PrimMesh, node_type: str, inputs: dict, props: dict | None = None):
    """Vertices, polygons and edges (each (v1, v2) as Blender's) in Blender's order."""
    verts, polys, edges = _blender_mesh(node_type, inputs, props)
    got = ours.vertices[0].detach().numpy()
    assert got.shape == verts.shape, f"{node_type} {inputs} {props}: {got.shape} vs Blender {verts.shape}"
    if verts.size:
        err = np.abs(got - verts).max()
        assert err <= 1e-5, f"{node_type} {inputs} {props}: max abs error {err}"
    assert ours.polygons() == polys, f"{node_type} {inputs} {props}: polygons differ"
    assert ours.edges is not None, f"{node_type} {inputs} {props}: edge order not modelled"
    assert [tuple(e) for e in ours.edges.tolist()] == edges, f"{node_type} {inputs} {props}: edges differ"


def _rand(rng, n=(), lo=0.1, hi=3.0):
    return rng.uniform(lo, hi, n)


@pytest.mark.blender
@pytest.mark.parametrize("counts", list(itertools.product([0, 1, 2, 3, 5], repeat=3)))
def test_cube_vs_blender(counts):
    rng = np.random.default_rng(hash(counts) % 2**32)
    size = _rand(rng, 3)
    ours = P.mesh_cube(t(size), *counts)
    _check(ours, "GeometryNodeMeshCube", {"Size": size, "Vertices X": counts[0], "Vertices Y": counts[1],
                                          "Vertices Z": counts[2]})


@pytest.mark.blender
@pytest.mark.parametrize("verts,side,fill,fill_type",
                         list(itertools.product([2, 3, 4, 7, 32], [0, 1, 2, 3], [0, 1, 2], P.FILL_TYPES)))
def test_cylinder_vs_blender(verts, side, fill, fill_type):
    rng = np.random.default_rng(verts * 100 + side * 10 + fill)
    radius, depth = _rand(rng), _rand(rng)
    ours = P.mesh_cylinder(t(radius), t(depth), verts, side, fill, fill_type)
    _check(ours, "GeometryNodeMeshCylinder", {"Radius": radius, "Depth": depth, "Vertices": verts,
                                              "Side Segments": side, "Fill Segments": fill},
           {"fill_type": fill_type})


CONE_RADII = [(0.7, 1.3, 1.1), (1.9, 0.4, 0.6), (0.0, 1.2, 0.8), (1.2, 0.0, 0.8), (0.0, 0.0, 1.5),
              (0.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.5, 0.8, -1.0)]


@pytest.mark.blender
@pytest.mark.parametrize("verts,side,fill,fill_type,radii",
                         list(itertools.product([3, 5], [1, 3], [1, 2], P.FILL_TYPES, CONE_RADII)))
def test_cone_vs_blender(verts, side, fill, fill_type, radii):
    top, bottom, depth = radii
    ours = P.mesh_cone(t(top), t(bottom), t(depth), verts, side, fill, fill_type)
    _check(ours, "GeometryNodeMeshCone", {"Radius Top": top, "Radius Bottom": bottom, "Depth": depth,
                                          "Vertices": verts, "Side Segments": side, "Fill Segments": fill},
           {"fill_type": fill_type})


@pytest.mark.blender
@pytest.mark.parametrize("count", [0, 1, 2, 5, 17])
def test_line_vs_blender(count):
    rng = np.random.default_rng(count)
    start, other = rng.normal(size=3), rng.normal(size=3)
    inputs = {"Start Location": start, "Offset": other, "Count": count}
    _check(P.mesh_line_offset(t(start), t(other), count), "GeometryNodeMeshLine", inputs,
           {"mode": "OFFSET", "count_mode": "TOTAL"})
    _check(P.mesh_line_end_points_total(t(start), t(other), count), "GeometryNodeMeshLine", inputs,
           {"mode": "END_POINTS", "count_mode": "TOTAL"})


@pytest.mark.blender
@pytest.mark.parametrize("resolution,end", [(0.05, None), (0.3, None), (0.7, None), (5.0, None), (0.0, None),
                                            (-1.0, None), (0.1, (0.3, 0.0, 0.0)), (0.1, (0.7, 0.0, 0.0)),
                                            (0.3, (0.9, 0.0, 0.0)), (0.1, (0.3, 0.4, 0.0))])
def test_line_resolution_vs_blender(resolution, end):
    """Random segments, and lengths near a multiple of the resolution (float32 rounding)."""
    rng = np.random.default_rng(7)
    start, end = (rng.normal(size=3), rng.normal(size=3)) if end is None else (np.zeros(3), np.array(end))
    count = int(P.line_resolution_count(t(start), t(end), t(resolution))[0])
    ours = P.mesh_line_end_points_resolution(t(start), t(end), t(resolution), count)
    _check(ours, "GeometryNodeMeshLine", {"Start Location": start, "Offset": end, "Resolution": resolution},
           {"mode": "END_POINTS", "count_mode": "RESOLUTION"})
    same = P.mesh_line_end_points_resolution(t(start), t(start), t(0.5), 1)
    _check(same, "GeometryNodeMeshLine", {"Start Location": start, "Offset": start, "Resolution": 0.5},
           {"mode": "END_POINTS", "count_mode": "RESOLUTION"})


@pytest.mark.blender
@pytest.mark.parametrize("counts", list(itertools.product([0, 1, 2, 3, 5], repeat=2)))
def test_grid_vs_blender(counts):
    rng = np.random.default_rng(sum(counts))
    sx, sy = _rand(rng), _rand(rng)
    ours = P.mesh_grid(t(sx), t(sy), *counts)
    _check(ours, "GeometryNodeMeshGrid", {"Size X": sx, "Size Y": sy, "Vertices X": counts[0],
                                          "Vertices Y": counts[1]})


@pytest.mark.blender
@pytest.mark.parametrize("verts,fill_type", list(itertools.product([0, 2, 3, 4, 7, 32], P.FILL_TYPES)))
def test_circle_vs_blender(verts, fill_type):
    radius = _rand(np.random.default_rng(verts))
    _check(P.mesh_circle(t(radius), verts, fill_type), "GeometryNodeMeshCircle",
           {"Radius": radius, "Vertices": verts}, {"fill_type": fill_type})


@pytest.mark.blender
@pytest.mark.parametrize("segments,rings", list(itertools.product([0, 2, 3, 4, 7, 32], [0, 1, 2, 3, 5, 16])))
def test_uv_sphere_vs_blender(segments, rings):
    radius = _rand(np.random.default_rng(segments * 100 + rings))
    _check(P.mesh_uv_sphere(t(radius), segments, rings), "GeometryNodeMeshUVSphere",
           {"Radius": radius, "Segments": segments, "Rings": rings})


@pytest.mark.blender
@pytest.mark.parametrize("subdivisions", [-1, 0, 1, 2, 3, 4])
def test_ico_sphere_vs_blender(subdivisions):
    radius = _rand(np.random.default_rng(subdivisions + 5))
    _check(P.mesh_ico_sphere(t(radius), subdivisions), "GeometryNodeMeshIcoSphere",
           {"Radius": radius, "Subdivisions": subdivisions})


@pytest.mark.blender
@pytest.mark.slow
def test_ico_sphere_5_vs_blender():
    _check(P.mesh_ico_sphere(t(2.5), 5), "GeometryNodeMeshIcoSphere", {"Radius": 2.5, "Subdivisions": 5})


NEGATIVE_CASES = [
    ("GeometryNodeMeshIcoSphere", {"Radius": -1.5, "Subdivisions": 2}, {}, lambda: P.mesh_ico_sphere(t(-1.5), 2)),
    ("GeometryNodeMeshUVSphere", {"Radius": -1.5, "Segments": 5, "Rings": 4}, {}, lambda: P.mesh_uv_sphere(t(-1.5), 5, 4)),
    ("GeometryNodeMeshCircle", {"Radius": -1.5, "Vertices": 5}, {"fill_type": "TRIANGLE_FAN"},
     lambda: P.mesh_circle(t(-1.5), 5, "TRIANGLE_FAN")),
    ("GeometryNodeMeshCylinder", {"Radius": -1.5, "Depth": -2.0, "Vertices": 5, "Side Segments": 2, "Fill Segments": 2},
     {"fill_type": "NGON"}, lambda: P.mesh_cylinder(t(-1.5), t(-2.0), 5, 2, 2, "NGON")),
    ("GeometryNodeMeshCone", {"Radius Top": -1.5, "Radius Bottom": 0.5, "Depth": -2.0, "Vertices": 5,
                              "Side Segments": 2, "Fill Segments": 2},
     {"fill_type": "NGON"}, lambda: P.mesh_cone(t(-1.5), t(0.5), t(-2.0), 5, 2, 2, "NGON")),
    ("GeometryNodeMeshCube", {"Size": (-1.0, 2.0, -3.0), "Vertices X": 3, "Vertices Y": 1, "Vertices Z": 2}, {},
     lambda: P.mesh_cube(t([-1.0, 2.0, -3.0]), 3, 1, 2)),
    ("GeometryNodeMeshGrid", {"Size X": -1.0, "Size Y": -2.0, "Vertices X": 3, "Vertices Y": 2}, {},
     lambda: P.mesh_grid(t(-1.0), t(-2.0), 3, 2)),
]


@pytest.mark.blender
@pytest.mark.parametrize("node_type,inputs,props,ours", NEGATIVE_CASES, ids=[c[0] for c in NEGATIVE_CASES])
def test_negative_inputs_vs_blender(node_type, inputs, props, ours):
    _check(ours(), node_type, inputs, props)


FLOAT32_CASES = [
    ("GeometryNodeMeshCylinder", {"Radius": 2.7, "Depth": 3.3, "Vertices": 32, "Side Segments": 1, "Fill Segments": 1},
     {"fill_type": "NGON"}, lambda f: P.mesh_cylinder(f(2.7), f(3.3), 32, 1, 1, "NGON")),
    ("GeometryNodeMeshUVSphere", {"Radius": 2.9, "Segments": 32, "Rings": 16}, {}, lambda f: P.mesh_uv_sphere(f(2.9), 32, 16)),
    ("GeometryNodeMeshIcoSphere", {"Radius": 2.9, "Subdivisions": 4}, {}, lambda f: P.mesh_ico_sphere(f(2.9), 4)),
    ("GeometryNodeMeshCube", {"Size": (2.9, 1.3, 0.7), "Vertices X": 5, "Vertices Y": 3, "Vertices Z": 4}, {},
     lambda f: P.mesh_cube(f([2.9, 1.3, 0.7]), 5, 3, 4)),
    ("GeometryNodeMeshLine", {"Start Location": (0.1, 0.2, 0.3), "Offset": (2.9, 1.3, 0.7), "Count": 17},
     {"mode": "END_POINTS"}, lambda f: P.mesh_line_end_points_total(f([0.1, 0.2, 0.3]), f([2.9, 1.3, 0.7]), 17)),
]


@pytest.mark.blender
@pytest.mark.parametrize("node_type,inputs,props,ours", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_inputs_vs_blender(node_type, inputs, props, ours):
    mesh = ours(lambda *v: t(*v).float())
    assert mesh.vertices.dtype == torch.float32
    _check(mesh, node_type, inputs, props)
