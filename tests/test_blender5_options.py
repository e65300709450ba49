"""Node options that Blender 4.3+ files carry and 4.2 files do not (imported from a file saved
by Blender 5.0 they arrive as these properties and inputs; without them a node behaves as in
4.2). Expected values were measured with bpy 5.0.1 (tests/chainrun.py --files runs whole files
saved by 5.0 against it): Resample Curve's Keep Last Segment, Curve to Mesh's Scale, and the
Normal node's Legacy Corner Normals."""
import numpy as np
import pytest
import torch

from geonodes.errors import GeonodesError
from geonodes.program import load_program
from irtools import link, node, program

OUT = ("Group Output", "Out")


def _resampled_line(length: float, sample: float, keep: bool | None):
    props = {"mode": "LENGTH"} if keep is None else {"mode": "LENGTH", "keep_last_segment": keep}
    nodes = [node("C", "GeometryNodeCurvePrimitiveLine", {}, {"Start": [0, 0, 0], "End": [length, 0, 0]}),
             node("R", "GeometryNodeResampleCurve", props, {"Length": sample}), node("M", "GeometryNodeCurveToMesh")]
    links = [link(("C", "Curve"), ("R", "Curve")), link(("R", "Curve"), ("M", "Curve")), link(("M", "Mesh"), OUT)]
    return load_program(program(nodes, links)).evaluate_one({}, dtype=torch.float64).vertices[:, 0].tolist()


@pytest.mark.parametrize("length, sample, kept, collapsed", [
    (0.25, 1.0, [0.0, 0.25], [0.0]), (0.0, 1.0, [0.0, 0.0], [0.0]), (1.12, 0.0, [0.0], [0.0]),
    (2.7, 1.0, [0.0, 1.35, 2.7], [0.0, 1.35, 2.7])])
def test_keep_last_segment(length, sample, kept, collapsed):
    """On: a curve shorter than Length keeps its two ends (a zero Length still gives one
    point); off, or absent (4.2), it collapses to its start."""
    assert np.allclose(_resampled_line(length, sample, True), kept)
    assert np.allclose(_resampled_line(length, sample, False), collapsed)
    assert np.allclose(_resampled_line(length, sample, None), collapsed)


def _swept(scale):
    inputs = {} if scale is None else {"Scale": scale}
    nodes = [node("C", "GeometryNodeCurvePrimitiveLine", {}, {"Start": [0, 0, 0], "End": [1, 0, 0]}),
             node("R", "GeometryNodeSetCurveRadius", {}, {"Radius": 2.0}),
             node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.1}),
             node("M", "GeometryNodeCurveToMesh", {}, inputs)]
    links = [link(("C", "Curve"), ("R", "Curve")), link(("R", "Curve"), ("M", "Curve")),
             link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    v = load_program(program(nodes, links)).evaluate_one({}, dtype=torch.float64).vertices
    return float(v[:, 1:].abs().max())


def test_curve_to_mesh_scale_replaces_the_radius():
    """With a Scale input (4.3+) the profile is scaled by it, not by the radius (2 here)."""
    assert _swept(None) == pytest.approx(0.2)
    assert _swept(1.0) == pytest.approx(0.1)
    assert _swept(3.0) == pytest.approx(0.3)


def test_normal_without_legacy_corner_normals_is_refused_on_corners():
    """Legacy Corner Normals off changes the CORNER domain only (Blender's corner normals of
    smooth faces, not modelled): read there it is one error naming the node; on points it is
    the vertex normal either way."""
    def program_for(legacy, domain):
        nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 3}),
                 node("N", "GeometryNodeInputNormal", {"legacy_corner_normals": legacy}),
                 node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT_VECTOR", "domain": domain},
                      {"Name": "n"}),
                 node("A", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "n"}),
                 node("SP", "GeometryNodeSetPosition")]
        links = [link(("G", "Mesh"), ("St", "Geometry")), link(("N", "Normal"), ("St", "Value")),
                 link(("St", "Geometry"), ("SP", "Geometry")), link(("A", "Attribute"), ("SP", "Offset")),
                 link(("SP", "Geometry"), OUT)]
        return load_program(program(nodes, links))
    for legacy, domain in ((False, "POINT"), (True, "POINT"), (True, "CORNER")):  # flat grid: up by 1
        assert np.allclose(program_for(legacy, domain).evaluate_one({}).vertices[:, 2].detach().numpy(), 1.0)
    with pytest.raises(GeonodesError, match="node 'N' \\(type GeometryNodeInputNormal\\): the Normal field on the "
                                            "CORNER domain with Legacy Corner Normals off"):
        program_for(False, "CORNER").evaluate_one({})
